"""Outbox topics for tests, imported by the test process and by real workers
(`hub worker --include tests.support.outbox_handlers`).

Effects go to a test-only table in the test's database, so "done exactly once" is counted
where it matters; marks (one line per event, with its time) go to files under the data folder,
because a handler's own rows vanish when its transaction is rolled back or its worker killed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psycopg
from celery.signals import task_postrun
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hub.outbox.service import RetryableError, handler
from hub.runtime import Runtime
from hub.worker.celery_app import RUN_OUTBOX_TASK
from hub.worker.process import worker_runtime

metadata = MetaData()
effects = Table(
    "outbox_test_effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False),
)

# a beneficiary's name where a careless handler could leak it into an error message
CANARY = "Aicha-Moussa-outbox-canary-7c2e"


def create_effects_table(engine: Engine) -> None:
    metadata.create_all(engine)


def effect_count(runtime: Runtime, key: str) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(effects).where(effects.c.key == key)
        ).scalar_one()


def marks_dir(data_dir: Path) -> Path:
    return data_dir / "test-marks"


def mark(data_dir: Path, name: str) -> int:
    """Append the time to the mark file `name`; returns how many marks it now holds."""
    folder = marks_dir(data_dir)
    folder.mkdir(exist_ok=True)
    path = folder / name
    with path.open("a", encoding="utf-8") as f:
        f.write(f"{time.time()}\n")
    return len(read_marks(data_dir, name))


def read_marks(data_dir: Path, name: str) -> list[float]:
    path = marks_dir(data_dir) / name
    if not path.exists():
        return []
    return [float(line) for line in path.read_text(encoding="utf-8").split()]


def _add_effect(db: Session, key: str) -> None:
    db.execute(insert(effects).values(key=key))


@handler("test.effect")
def record_effect(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
    _add_effect(db, payload["key"])


@handler("test.flaky")
def flaky(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
    attempt = mark(runtime.settings.data_dir, f"{payload['key']}.attempt")
    if attempt <= payload["failures"]:
        raise RetryableError("partner unavailable")
    _add_effect(db, payload["key"])


def deadlock_victim() -> OperationalError:
    """What SQLAlchemy raises when PostgreSQL picks the transaction as a deadlock's victim."""
    return OperationalError(
        "INSERT INTO disclosures ...", {}, psycopg.errors.DeadlockDetected("deadlock detected")
    )


@handler("test.deadlocked")
def deadlocked(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
    """Meets a deadlock on its first `failures` attempts, its effect rolled back each time."""
    attempt = mark(runtime.settings.data_dir, f"{payload['key']}.attempt")
    _add_effect(db, payload["key"])
    if attempt <= payload["failures"]:
        raise deadlock_victim()


@handler("test.broken")
def broken(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
    mark(runtime.settings.data_dir, f"{payload['key']}.attempt")
    _add_effect(db, payload["key"])  # rolled back with the failure
    raise RetryableError("partner unavailable")


@handler("test.crash")
def crash(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
    mark(runtime.settings.data_dir, f"{payload['key']}.attempt")
    _add_effect(db, payload["key"])
    raise ValueError(f"could not process {CANARY}")


@handler("test.slow")
def slow(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
    """Marks that it started, then sleeps (only on its first run when `once`)."""
    started = mark(runtime.settings.data_dir, f"{payload['key']}.started")
    if started == 1 or not payload.get("once"):
        time.sleep(payload["sleep_ms"] / 1000)
    _add_effect(db, payload["key"])


@handler("test.whoami")
def whoami(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
    """Marks the pool process that ran it (one mark file per process id)."""
    mark(runtime.settings.data_dir, f"{payload['key']}.pid-{os.getpid()}")
    _add_effect(db, payload["key"])


@task_postrun.connect
def _count_runs(sender: Any = None, args: Any = None, **_: Any) -> None:
    # one mark per delivery of an outbox id, whatever the task made of it
    if getattr(sender, "name", None) == RUN_OUTBOX_TASK and args:
        mark(worker_runtime().settings.data_dir, f"{args[0]}.runs")
