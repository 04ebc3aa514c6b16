"""A handler that meets a deadlock or a busy database is tried again, not dead-lettered: its
transaction was rolled back whole, and the next attempt starts afresh."""

from __future__ import annotations

import os

import pytest

from hub.outbox import service, tasks
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.runtime import Runtime
from hub.worker import process
from tests.support.outbox_handlers import create_effects_table, effect_count


def test_a_deadlocked_handler_is_retried_and_its_effect_kept_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_effects_table(runtime.engine)
    with runtime.sessions.begin() as db:
        outbox_id = service.enqueue(
            db=db, topic="test.deadlocked", payload={"key": "victim", "failures": 1}
        ).id
    # the task as a worker runs it, with the worker's runtime; the retry is one the outbox
    # keeps (a delay longer than a broker holds a message), so nothing else runs it meanwhile
    monkeypatch.setattr(process, "_runtime", runtime)
    monkeypatch.setattr(process, "_pid", os.getpid())
    monkeypatch.setattr(service, "retry_delay", lambda *_, **__: 24 * 3600.0)

    tasks.run_outbox.apply(args=[outbox_id]).get()
    with runtime.sessions() as db:
        row = db.get_one(OutboxMessage, outbox_id)
        assert row.status == OutboxStatus.pending  # not dead
        assert (row.attempts, row.last_error) == (1, "RetryableError: database: OperationalError")
    assert effect_count(runtime, "victim") == 0  # rolled back with the attempt

    with runtime.sessions.begin() as db:  # due now
        db.get_one(OutboxMessage, outbox_id).available_at = row.created_at
    tasks.run_outbox.apply(args=[outbox_id]).get()
    with runtime.sessions() as db:
        row = db.get_one(OutboxMessage, outbox_id)
        assert (row.status, row.attempts) == (OutboxStatus.done, 2)
    assert effect_count(runtime, "victim") == 1
