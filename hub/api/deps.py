"""FastAPI dependencies shared by every domain's routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from hub.services import Services


def get_runtime(request: Request) -> Services:
    return request.app.state.runtime  # type: ignore[no-any-return]


CurrentRuntime = Annotated[Services, Depends(get_runtime)]


def get_db(runtime: CurrentRuntime) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    with runtime.sessions.begin() as db:
        yield db


DbSession = Annotated[Session, Depends(get_db, scope="function")]
