"""A transfer offer's acceptance deadline (the policy's `follow_up.transfer_acceptance`):
reminded before, overdue at, escalated past it to both organisations, each once; an answered
offer owes nothing; and the scheduled job runs on a real worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hub.app import create_app
from hub.audit.models import AuditEntry
from hub.clock import utcnow
from hub.runtime import Runtime
from hub.transfers import deadlines
from hub.transfers.models import Transfer
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.transfer_world import World, make_world
from tests.support.workers import HubProcess, wait_for


def _transfer(runtime: Runtime, transfer_id: str) -> Transfer:
    with runtime.sessions() as db:
        return db.get_one(Transfer, transfer_id)


def test_an_offer_is_reminded_flagged_then_escalated_to_both(world: World) -> None:
    runtime = world.runtime
    offered_at = utcnow()
    transfer_id, _ = world.sent()
    answered, _ = world.sent()
    response = world.act(answered, "reject", world.ngo, {"reason": "no caseworker free"})
    assert response.status_code == 200, response.text
    summary = world.get(transfer_id, world.sender).json()
    assert (summary["overdue"], summary["escalated"]) == (False, False)
    due = _transfer(runtime, transfer_id).accept_by
    # the policy: 120 h to accept or reject, reminded 24 h before, escalated 48 h past
    assert abs(due - offered_at - timedelta(hours=120)) < timedelta(minutes=1)

    assert run_at(deadlines.run, runtime, due - timedelta(hours=25)).reminded == []
    assert run_at(deadlines.run, runtime, due - timedelta(hours=23)).reminded == [transfer_id]
    assert run_at(deadlines.run, runtime, due - timedelta(hours=22)).reminded == []  # once
    late = run_at(deadlines.run, runtime, due + timedelta(minutes=1))
    assert late.overdue == [transfer_id] and late.escalated == []
    with runtime.sessions() as db:
        stored = db.get_one(Transfer, transfer_id)
        assert deadlines.is_overdue(stored, utcnow())
        overdue_ids = set(
            db.scalars(select(Transfer.id).where(deadlines.overdue_condition(utcnow())))
        )
    assert overdue_ids == {transfer_id}
    escalated = run_at(deadlines.run, runtime, due + timedelta(hours=49))
    assert escalated.escalated == [transfer_id]
    assert run_at(deadlines.run, runtime, due + timedelta(hours=100)).escalated == []
    stored = _transfer(runtime, transfer_id)
    assert stored.status == "sent" and stored.escalated_at is not None  # nothing closed
    untouched = _transfer(runtime, answered)
    assert (untouched.reminded_at, untouched.overdue_since, untouched.escalated_at) == (
        None,
        None,
        None,
    )
    drain(runtime)
    with runtime.sessions() as db:
        told = {
            e.action: e.details["organization_ids"]
            for e in db.scalars(select(AuditEntry).where(AuditEntry.object_id == transfer_id))
            if e.action.endswith("_queued")
        }
    assert told == {
        "transfer.reminder_queued": [world.ngo.organization_id],
        "transfer.overdue_notice_queued": [world.sender.organization_id],
        "transfer.escalation_notice_queued": [
            world.sender.organization_id,
            world.ngo.organization_id,
        ],
    }


@pytest.mark.worker
def test_the_transfer_deadline_job_runs_on_a_real_worker(
    outbox_runtime: Runtime,
    start_worker: Callable[..., HubProcess],
) -> None:
    with TestClient(create_app(outbox_runtime)) as api:
        world = make_world(outbox_runtime, api)
        late, _ = world.sent()
        fresh, _ = world.sent()
    with outbox_runtime.sessions.begin() as db:
        db.execute(
            update(Transfer)
            .where(Transfer.id == late)
            .values(accept_by=utcnow() - timedelta(hours=60))
        )
    worker = start_worker("--beat")

    def told() -> bool:
        with outbox_runtime.sessions() as db:
            entry = db.scalar(
                select(AuditEntry).where(
                    AuditEntry.object_id == late,
                    AuditEntry.action == "transfer.escalation_notice_queued",
                )
            )
        return entry is not None

    wait_for(told, "the late offer escalated and both organisations told", watch=worker)
    assert _transfer(outbox_runtime, late).escalated_at is not None
    assert _transfer(outbox_runtime, fresh).escalated_at is None
