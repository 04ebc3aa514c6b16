"""The scheduler of a real worker: audit checkpoints, and its ticks' own queue."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from hub.audit.models import AuditCheckpoint
from hub.audit.service import record
from hub.outbox import service
from hub.outbox.service import enqueue
from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from tests.support.outbox_handlers import create_effects_table, effect_count
from tests.support.workers import HANDLERS, HUB, HubProcess, settings_env, wait_for

pytestmark = pytest.mark.worker


def test_the_scheduler_signs_audit_checkpoints(
    worker_settings: Settings, hub_processes: Callable[..., HubProcess]
) -> None:
    # entries unsigned for three intervals are refused as stale: the interval leaves a worker
    # slow to start on a loaded machine the time to sign the entry written before it
    settings = load_settings(
        **{**worker_settings.model_dump(exclude_defaults=True), "audit_checkpoint_seconds": 10}
    )
    rt = Runtime(settings)
    try:
        with rt.sessions.begin() as db:
            record(db, actor="test", action="test.checkpoint", object_type="test")
        worker = hub_processes(
            [HUB, "worker", "--beat", "--pool", "solo", "--include", HANDLERS],
            settings_env(settings),
            "worker",
        )

        def checkpoints() -> list[int]:
            with rt.sessions() as db:
                return list(db.scalars(select(AuditCheckpoint.seq)))

        assert wait_for(checkpoints, "an audit checkpoint", watch=worker) == [1]
    finally:
        rt.dispose()


def test_scheduler_ticks_do_not_wait_behind_a_backlog(
    worker_settings: Settings, hub_processes: Callable[..., HubProcess]
) -> None:
    # only the checkpoint ticks (every 5 s, dropped if not run within 5 s) are frequent here
    quiet = {"outbox_poll_seconds": 60, "deadline_check_seconds": 60, "fhir_poll_seconds": 60}
    settings = load_settings(
        **{
            **worker_settings.model_dump(exclude_defaults=True),
            **quiet,
            "audit_checkpoint_seconds": 5,
            "outbox_lease_seconds": 60,
        }
    )
    rt = Runtime(settings)
    backlog = 8
    try:
        create_effects_table(rt.engine)
        with rt.sessions.begin() as db:
            for i in range(backlog):
                enqueue(db=db, topic="test.slow", payload={"key": f"slow{i}", "sleep_ms": 2500})
        # the whole backlog is on the broker before the worker starts
        assert len(service.dispatch_due(rt)) == backlog
        worker = hub_processes(
            [HUB, "worker", "--beat", "--pool", "solo", "--include", HANDLERS],
            settings_env(settings),
            "worker",
        )
        # the entry to sign, written once the worker runs: on a loaded machine a worker slow to
        # start would otherwise find it already stale (unsigned for three intervals)
        wait_for(lambda: " ready." in worker.logs() or None, "the worker", watch=worker)
        with rt.sessions.begin() as db:
            record(db, actor="test", action="test.checkpoint", object_type="test")

        def checkpoint_seen_with_work_left() -> int | None:
            with rt.sessions() as db:
                signed = db.scalars(select(AuditCheckpoint.seq)).first()
            return (
                None
                if signed is None
                else 1 + sum(effect_count(rt, f"slow{i}") for i in range(backlog))
            )

        # one handler at a time, 2.5 s each (20 s in all): a tick behind the backlog would
        # come after all of it; its own queue gets a turn between two handlers
        done_plus_one = wait_for(checkpoint_seen_with_work_left, "a checkpoint", watch=worker)
        assert done_plus_one - 1 < backlog - 2
    finally:
        rt.dispose()
