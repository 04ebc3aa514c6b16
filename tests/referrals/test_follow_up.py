"""Follow-up past the acknowledgement, as the policy's table says: accept or decline, then
start, then the follow-up date; each reminded before its deadline, flagged overdue at it (the
board's `overdue` too), escalated past it, and set afresh by the next move."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hub.app import create_app
from hub.audit.models import AuditEntry
from hub.clock import clock, utcnow
from hub.outbox.models import OutboxMessage
from hub.referrals import follow_up, service
from hub.referrals.models import Referral
from hub.runtime import Runtime
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.referral_world import World, make_world
from tests.support.workers import HubProcess, wait_for


def _referral(runtime: Runtime, referral_id: str) -> Referral:
    with runtime.sessions() as db:
        return db.get_one(Referral, referral_id)


def _acted(world: World, referral_id: str, *actions: str, body: dict | None = None) -> dict:
    answer = {}
    for action in actions:
        response = world.act(referral_id, action, world.recipient, body)
        assert response.status_code == 200, response.text
        answer = response.json()
    return answer


def _overdue_ids(world: World, organization_id: str) -> set[str]:
    """What `GET /v1/referrals?overdue=true` lists for the organisation, at the hub's clock
    (the service itself: the clock moved past the test tokens' lifetime)."""
    with world.runtime.sessions() as db:
        items, _ = service.get_page(
            db=db,
            organization_id=organization_id,
            role=None,
            statuses=None,
            overdue=True,
            cursor=None,
            limit=100,
        )
    return {item.id for item in items}


def _queued(runtime: Runtime, topic: str) -> list[dict]:
    with runtime.sessions() as db:
        return [
            m.payload for m in db.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic))
        ]


def test_an_acknowledged_referral_owes_an_answer_reminded_overdue_then_escalated(
    world: World,
) -> None:
    runtime = world.runtime
    referral_id = world.sent(urgency="normal")
    acknowledged_at = utcnow()
    answer = _acted(world, referral_id, "acknowledge")
    # the policy's table: normal, 120 h to accept or decline, reminded 24 h before, escalated
    # 48 h past the deadline
    assert answer["due_move"] == "answer"
    due = _referral(runtime, referral_id).due_at
    assert abs((due - acknowledged_at) - timedelta(hours=120)) < timedelta(minutes=1)
    assert answer["overdue"] is False and answer["escalated"] is False

    quiet = run_at(follow_up.run, runtime, due - timedelta(hours=25))
    assert quiet.reminded["answer"] == quiet.overdue["answer"] == []
    assert run_at(follow_up.run, runtime, due - timedelta(hours=23)).reminded["answer"] == [
        referral_id
    ]
    assert (
        run_at(follow_up.run, runtime, due - timedelta(hours=22)).reminded["answer"] == []
    )  # once

    late = run_at(follow_up.run, runtime, due + timedelta(minutes=1))
    assert late.overdue["answer"] == [referral_id] and late.escalated["answer"] == []
    # the board's rule is the same: overdue for both parties, in the API's list and summary
    assert referral_id in _overdue_ids(world, world.sender.organization_id)
    assert referral_id in _overdue_ids(world, world.recipient.organization_id)
    with runtime.sessions() as db:
        board = service.inbox(db=db, organization_id=world.recipient.organization_id)
    assert board[0].id == referral_id and board[0].overdue is True  # first in the inbox

    escalated = run_at(follow_up.run, runtime, due + timedelta(hours=49))
    assert escalated.escalated["answer"] == [referral_id]
    stored = _referral(runtime, referral_id)
    assert stored.due_escalated_at is not None and stored.status == "acknowledged"  # not closed
    assert (
        run_at(follow_up.run, runtime, due + timedelta(hours=100)).escalated["answer"] == []
    )  # once
    assert [p["stage"] for p in _queued(runtime, follow_up.ESCALATED_TOPIC)] == ["answer"]
    for topic in (follow_up.REMINDER_TOPIC, follow_up.OVERDUE_TOPIC):
        assert len(_queued(runtime, topic)) == 1, topic

    drain(runtime)  # at the moved clock: the notices are due then
    # a late answer is still an answer: accepting opens the next stage, markers cleared
    clock.reset()
    answer = _acted(world, referral_id, "accept")
    assert (answer["due_move"], answer["overdue"], answer["escalated"]) == ("start", False, False)
    assert referral_id not in _overdue_ids(world, world.sender.organization_id)
    with runtime.sessions() as db:
        told = db.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == referral_id,
                AuditEntry.action == "referral.escalation_notice_queued",
            )
        ).one()
    assert told.details["organization_ids"] == [
        world.sender.organization_id,
        world.recipient.organization_id,
    ]


def test_an_accepted_referral_owes_its_start_by_urgency(world: World) -> None:
    runtime = world.runtime
    referral_id = world.sent(urgency="emergency")
    accepted_at = utcnow()
    answer = _acted(world, referral_id, "acknowledge", "accept")
    assert answer["due_move"] == "start"
    due = _referral(runtime, referral_id).due_at
    # emergency: 24 h to start, reminded 6 h before, escalated 12 h past
    assert abs((due - accepted_at) - timedelta(hours=24)) < timedelta(minutes=1)
    assert run_at(follow_up.run, runtime, due - timedelta(hours=5)).reminded["start"] == [
        referral_id
    ]
    assert run_at(follow_up.run, runtime, due + timedelta(hours=1)).overdue["start"] == [
        referral_id
    ]
    assert run_at(follow_up.run, runtime, due + timedelta(hours=13)).escalated["start"] == [
        referral_id
    ]


def test_the_follow_up_date_is_the_recipients_or_the_policys_default(world: World) -> None:
    runtime = world.runtime
    policy = runtime.policy.follow_up.follow_up
    # the recipient sets it when starting
    chosen = world.sent(service_type="psychosocial_support", purpose="psychosocial_support")
    date = (utcnow() + timedelta(days=10)).replace(microsecond=0)
    _acted(world, chosen, "acknowledge", "accept")
    answer = _acted(world, chosen, "start", body={"follow_up_by": date.isoformat()})
    assert answer["due_move"] == "follow_up"
    assert _referral(runtime, chosen).due_at == date
    # without it: the policy's days for the service type
    defaulted = world.sent(service_type="psychosocial_support", purpose="psychosocial_support")
    started_at = utcnow()
    _acted(world, defaulted, "acknowledge", "accept", "start")
    expected = timedelta(days=policy.days_for("psychosocial_support"))
    assert abs(_referral(runtime, defaulted).due_at - started_at - expected) < timedelta(minutes=1)
    # a date already past is refused, and nothing moves
    past = world.sent()
    _acted(world, past, "acknowledge", "accept")
    refused = world.act(past, "start", world.recipient, {"follow_up_by": "2020-01-01T00:00:00Z"})
    assert (refused.status_code, refused.json()["code"]) == (422, "follow_up_in_past")
    assert _referral(runtime, past).status == "accepted"

    # the chosen date: reminded 48 h before, overdue at it, escalated 168 h past
    assert run_at(follow_up.run, runtime, date - timedelta(hours=47)).reminded["follow_up"] == [
        chosen
    ]
    assert run_at(follow_up.run, runtime, date + timedelta(minutes=1)).overdue["follow_up"] == [
        chosen
    ]
    report = run_at(follow_up.run, runtime, date + timedelta(hours=169))
    assert report.escalated["follow_up"] == [chosen]
    # completing ends the follow-up
    clock.reset()
    answer = _acted(world, chosen, "complete", body={"outcome_code": "service_provided"})
    assert (answer["due_move"], answer["overdue"]) == (None, False)
    assert chosen not in _overdue_ids(world, world.sender.organization_id)


def test_a_closed_referral_owes_nothing(world: World) -> None:
    runtime = world.runtime
    declined = world.sent()
    _acted(world, declined, "acknowledge")
    _acted(world, declined, "decline", body={"reason_code": "no_capacity"})
    cancelled = world.sent()
    _acted(world, cancelled, "acknowledge", "accept")
    response = world.act(cancelled, "cancel", world.sender, {"reason": "moved away"})
    assert response.status_code == 200, response.text
    report = run_at(follow_up.run, runtime, utcnow() + timedelta(days=400))
    acted = [i for ids in (report.reminded, report.overdue, report.escalated) for i in ids.values()]
    assert all(declined not in ids and cancelled not in ids for ids in acted)
    for referral_id in (declined, cancelled):
        assert _referral(runtime, referral_id).due_move is None


@pytest.mark.worker
def test_the_scheduled_job_escalates_a_follow_up_on_a_real_worker(
    outbox_runtime: Runtime,
    start_worker: Callable[..., HubProcess],
) -> None:
    with TestClient(create_app(outbox_runtime)) as api:
        world = make_world(outbox_runtime, api)
        late = world.sent(urgency="high")
        fresh = world.sent(urgency="high")
        for referral_id in (late, fresh):
            _acted(world, referral_id, "acknowledge", "accept")
    with outbox_runtime.sessions.begin() as db:
        # accepted long ago: its start deadline (96 h) and escalation window (48 h) are behind us
        db.execute(
            update(Referral)
            .where(Referral.id == late)
            .values(due_at=utcnow() - timedelta(hours=60))
        )
    worker = start_worker("--beat")

    def escalated_and_told() -> bool:
        with outbox_runtime.sessions() as db:
            told = db.scalar(
                select(AuditEntry).where(
                    AuditEntry.object_id == late,
                    AuditEntry.action == "referral.escalation_notice_queued",
                )
            )
        return told is not None

    wait_for(escalated_and_told, "the late referral escalated and both parties told", watch=worker)
    stored = _referral(outbox_runtime, late)
    assert stored.due_escalated_at is not None and stored.due_overdue_since is not None
    assert stored.status == "accepted"
    assert _referral(outbox_runtime, fresh).due_escalated_at is None
