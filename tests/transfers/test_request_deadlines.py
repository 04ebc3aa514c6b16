"""A transfer request's answer deadline (the policy's `follow_up.transfer_request`): by its
urgency or the default; reminded before, overdue at, escalated past it, each once, the people
of `follow_up.notify` told; expired `expire_after_hours` past it; an answered request owes
nothing; and the transfers' scheduled job runs it on a real worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hub.app import create_app
from hub.audit.models import AuditEntry
from hub.clock import clock, utcnow
from hub.notifications.models import Notification
from hub.runtime import Runtime
from hub.transfers.requests import deadlines, service
from hub.transfers.requests.models import TransferRequest
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.people import person
from tests.support.transfer_world import World, make_world
from tests.support.workers import HubProcess, wait_for


def _ask(world: World, urgency: str = "normal", who: object = None) -> str:
    requester = who or world.ngo
    response = world.api.post(
        "/v1/transfer-requests",
        json={
            "owner_organization_id": world.sender.organization_id,
            "case_ref": "MRRM-NE-DEADLINE",
            "reason": "the family moved",
            "urgency": urgency,
        },
        headers=requester.headers,  # type: ignore[attr-defined]
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _row(runtime: Runtime, request_id: str) -> TransferRequest:
    with runtime.sessions() as db:
        return db.get_one(TransferRequest, request_id)


def test_a_request_is_reminded_flagged_escalated_then_expires(world: World) -> None:
    runtime = world.runtime
    maker = person(runtime, world.ngo.organization_id, "case_worker")
    owner_admin = person(runtime, world.sender.organization_id, "admin")
    asked_at = utcnow()
    request_id = _ask(world, who=world.ngo.acting_for(maker.id))
    urgent = _ask(world, urgency="emergency")
    withdrawn = _ask(world)
    response = world.api.post(
        f"/v1/transfer-requests/{withdrawn}/withdraw", json={}, headers=world.ngo.headers
    )
    assert response.status_code == 200, response.text
    due = _row(runtime, request_id).answer_by
    # the policy: 72 h by default, reminded 24 h before, escalated 24 h past, expired 336 h past
    assert abs(due - asked_at - timedelta(hours=72)) < timedelta(minutes=1)
    urgent_due = _row(runtime, urgent).answer_by
    assert abs(urgent_due - asked_at - timedelta(hours=8)) < timedelta(minutes=1)

    early = run_at(deadlines.run, runtime, due - timedelta(hours=25))
    assert request_id not in early.reminded
    assert urgent in early.escalated  # 8 h + 4 h long past: escalated at once
    assert run_at(deadlines.run, runtime, due - timedelta(hours=23)).reminded == [request_id]
    assert run_at(deadlines.run, runtime, due - timedelta(hours=22)).reminded == []  # once
    late = run_at(deadlines.run, runtime, due + timedelta(minutes=1))
    assert late.overdue == [request_id] and late.escalated == []
    with runtime.sessions() as db:
        # as the owner reads it then (the API's tokens would have expired at the moved clock)
        view = service.summary(
            db, db.get_one(TransferRequest, request_id), world.sender.organization_id
        )
    assert (view.overdue, view.escalated) == (True, False)
    assert run_at(deadlines.run, runtime, due + timedelta(hours=25)).escalated == [request_id]
    drain(runtime)
    with runtime.sessions() as db:
        told = {
            (n.user_id, n.code)
            for n in db.scalars(select(Notification).where(Notification.object_id == request_id))
        }
    # the policy's notify: overdue to the requester's case worker who asked; escalation to the
    # owner's administrators and the requester's case worker (and administrators: none here)
    assert told == {
        (maker.id, "transfer_request.overdue"),
        (maker.id, "transfer_request.escalation"),
        (owner_admin.id, "transfer_request.escalation"),
    }
    untouched = _row(runtime, withdrawn)
    assert (untouched.reminded_at, untouched.overdue_since, untouched.escalated_at) == (
        None,
        None,
        None,
    )
    assert run_at(deadlines.run, runtime, due + timedelta(hours=335)).expired == [urgent]
    expired = run_at(deadlines.run, runtime, due + timedelta(hours=337))
    assert expired.expired == [request_id]
    assert run_at(deadlines.run, runtime, due + timedelta(hours=400)).expired == []
    clock.reset()
    stored = _row(runtime, request_id)
    assert (stored.status, stored.status_reason) == ("expired", "expired")
    refuse = world.api.post(
        f"/v1/transfer-requests/{request_id}/refuse",
        json={"refusal_code": "other"},
        headers=world.sender.headers,
    )
    assert refuse.status_code == 409, refuse.text
    with runtime.sessions() as db:
        actions = [
            e.action
            for e in db.scalars(
                select(AuditEntry)
                .where(AuditEntry.object_id == request_id)
                .order_by(AuditEntry.seq)
            )
        ]
    assert actions == [
        "transfer_request.created",
        "transfer_request.reminded",
        "transfer_request.overdue",
        "transfer_request.escalated",
        # the partners' systems told of each step (`hub.transfers.requests.notices`)
        "transfer_request.reminder_queued",
        "transfer_request.overdue_notice_queued",
        "transfer_request.escalation_notice_queued",
        "transfer_request.expire",
    ]


@pytest.mark.worker
def test_the_request_deadline_runs_on_a_real_worker(
    outbox_runtime: Runtime,
    start_worker: Callable[..., HubProcess],
) -> None:
    with TestClient(create_app(outbox_runtime)) as api:
        world = make_world(outbox_runtime, api)
        late = _ask(world)
        fresh = _ask(world)
    with outbox_runtime.sessions.begin() as db:
        db.execute(
            update(TransferRequest)
            .where(TransferRequest.id == late)
            .values(answer_by=utcnow() - timedelta(hours=30))
        )
    worker = start_worker("--beat")

    def escalated() -> bool:
        with outbox_runtime.sessions() as db:
            entry = db.scalar(
                select(AuditEntry).where(
                    AuditEntry.object_id == late,
                    AuditEntry.action == "transfer_request.escalated",
                )
            )
        return entry is not None

    wait_for(escalated, "the late request escalated", watch=worker)
    assert _row(outbox_runtime, fresh).escalated_at is None
