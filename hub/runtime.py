"""What a running hub holds: settings, the database, keys and the Celery app.

Built once by the CLI, the app factory or a worker from explicit settings, then passed down.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.db.session import make_engine, make_sessionmaker
from hub.settings import Settings


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = make_engine(settings)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
