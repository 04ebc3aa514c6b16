"""FastAPI dependencies shared by every domain's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hub.services import Services


def get_runtime(request: Request) -> Services:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def current_runtime(request: Request) -> Services:
    # async: FastAPI runs a sync dependency in its thread pool, a thread hop (and a wait for
    # the GIL under load) on every request for one attribute read
    return get_runtime(request)


CurrentRuntime = Annotated[Services, Depends(current_runtime)]


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error.

    Async, its end (the commit or rollback, which waits on the database) in the thread pool:
    as a sync generator FastAPI ran it in the pool twice, a thread hop to begin a transaction
    that makes no query yet (the session connects on its first statement). The runtime read
    from the request, not through `CurrentRuntime`: a dependency of its own would be solved
    again wherever the session is asked for (twice per authenticated request)."""
    transaction = get_runtime(request).sessions.begin()
    db = transaction.__enter__()
    try:
        yield db
    except BaseException as exc:
        # shielded: a cancelled request still rolls back and hands its connection back
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(transaction.__exit__, type(exc), exc, exc.__traceback__)
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(transaction.__exit__, None, None, None)


DbSession = Annotated[Session, Depends(get_db, scope="function")]
