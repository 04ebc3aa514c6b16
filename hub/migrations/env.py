"""Alembic environment: the URL comes from the hub's settings, never from alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from hub.models import Base

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `hub db upgrade` (hub.db.migrate)")
run(connection)
