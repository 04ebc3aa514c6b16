"""A test-only router mounted on a real app to exercise errors, limits and logs.

It is never part of the hub: tests add it to `create_app(runtime)` themselves.
"""

from __future__ import annotations

import json
import logging

import psycopg
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hub.api.deps import DbSession
from hub.app import create_app
from hub.runtime import Runtime

# a beneficiary's name as it could arrive in a request; it must never reach logs or errors
CANARY = "Aicha-Moussa-canary-5b1f"

log = logging.getLogger("hub.probe")
router = APIRouter(prefix="/_probe")


class Item(BaseModel):
    count: int
    name: str


@router.post("/items/{item_id}")
def create_item(item_id: str, item: Item) -> dict[str, str]:
    # a careless `extra`: the formatter must drop the field it does not know
    log.info("probe item", extra={"given_name": item.name, "count": item.count})
    return {"id": item_id}


@router.post("/raw")
async def raw(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


@router.post("/ignore")
def ignore() -> dict[str, bool]:
    # never reads its body: only the up-front Content-Length check can refuse it
    return {"ignored": True}


@router.get("/boom")
def boom(secret: str) -> None:
    raise RuntimeError(f"failed for {secret}")


@router.get("/aboom")
async def aboom(secret: str) -> None:
    raise KeyError(secret)


@router.post("/deadlock")
def deadlock(db: DbSession) -> None:
    """Writes into `probe_writes` (the test makes it), then meets what SQLAlchemy raises for
    a deadlock's victim (PostgreSQL's SQLSTATE 40P01; the row quoted, as its detail does)."""
    db.execute(text("INSERT INTO probe_writes (note) VALUES (:note)"), {"note": CANARY})
    raise OperationalError(
        "INSERT INTO probe_writes", {}, psycopg.errors.DeadlockDetected(f"deadlock on {CANARY}")
    )


def probe_app(runtime: Runtime) -> FastAPI:
    app = create_app(runtime)
    app.include_router(router)
    return app


def probe_client(runtime: Runtime) -> TestClient:
    # raise_server_exceptions stays on: an error escaping the app fails the test loudly
    return TestClient(probe_app(runtime))


def json_logs(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    """Every line written to stderr so far, each of which must be one JSON object."""
    err = capsys.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.strip()]
