"""Acknowledgement deadlines: reminded before, flagged overdue at, failed after escalation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hub.app import create_app
from hub.clock import clock, utcnow
from hub.lifecycle.models import LifecycleEvent
from hub.outbox.models import OutboxMessage
from hub.referrals import deadlines
from hub.referrals.models import Referral
from hub.runtime import Runtime
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.referral_world import World, make_world
from tests.support.workers import HubProcess, wait_for


def _referral(runtime: Runtime, referral_id: str) -> Referral:
    with runtime.sessions() as db:
        return db.get_one(Referral, referral_id)


def _topics(runtime: Runtime) -> list[str]:
    with runtime.sessions() as db:
        return sorted(db.scalars(select(OutboxMessage.topic)))


def test_a_normal_referral_is_reminded_flagged_then_failed(world: World) -> None:
    runtime = world.runtime
    referral_id = world.sent(urgency="normal")
    answered = world.sent(urgency="normal")
    assert world.act(answered, "acknowledge", world.recipient).status_code == 200
    sent_at = _referral(runtime, referral_id).acknowledge_by - timedelta(hours=72)
    # the policy's normal window: 72 h to acknowledge, reminded 24 h before, failed 24 h after

    quiet = run_at(deadlines.run, runtime, sent_at + timedelta(hours=47))
    assert (quiet.reminded, quiet.overdue, quiet.failed) == ([], [], [])

    first = run_at(deadlines.run, runtime, sent_at + timedelta(hours=49))
    assert first.reminded == [referral_id]
    again = run_at(deadlines.run, runtime, sent_at + timedelta(hours=50))
    assert again.reminded == []  # reminded once, not every pass

    late = run_at(deadlines.run, runtime, sent_at + timedelta(hours=73))
    assert late.overdue == [referral_id] and late.failed == []
    flagged = _referral(runtime, referral_id)
    assert flagged.overdue_since is not None and flagged.overdue_since <= utcnow()
    assert flagged.status in {"sent", "delivered"}

    final = run_at(deadlines.run, runtime, sent_at + timedelta(hours=97))
    assert final.failed == [referral_id]
    failed = _referral(runtime, referral_id)
    assert (failed.status, failed.status_reason) == ("failed", "not_acknowledged")
    with runtime.sessions() as db:
        last = db.scalars(
            select(LifecycleEvent)
            .where(LifecycleEvent.object_id == referral_id)
            .order_by(LifecycleEvent.at.desc())
        ).first()
    assert last is not None
    assert (last.to_status, last.reason_code, last.actor) == (
        "failed",
        "not_acknowledged",
        "system:hub",
    )
    # the acknowledged referral was never touched
    untouched = _referral(runtime, answered)
    assert (untouched.status, untouched.reminded_at, untouched.overdue_since) == (
        "acknowledged",
        None,
        None,
    )
    topics = _topics(runtime)
    for topic in (deadlines.REMINDER_TOPIC, deadlines.OVERDUE_TOPIC, deadlines.FAILED_TOPIC):
        assert topics.count(topic) == 1, topic
    assert run_at(deadlines.run, runtime, sent_at + timedelta(hours=200)).failed == []
    drain(runtime)
    with runtime.sessions() as db:
        statuses = set(db.scalars(select(OutboxMessage.status)))
    assert statuses == {"done"}


def test_urgency_sets_the_windows(world: World) -> None:
    emergency = world.sent(urgency="emergency")
    normal = world.sent(urgency="normal")
    start = utcnow()
    report = deadlines.run(world.runtime, now=start + timedelta(hours=5, minutes=30))
    # emergency: 4 h to acknowledge, failed 1 h past it; normal is not even reminded yet
    assert report.failed == [emergency]
    assert normal not in report.reminded + report.overdue + report.failed


def test_a_referral_long_past_its_deadline_fails_in_one_pass(world: World) -> None:
    referral_id = world.sent(urgency="high")
    clock.advance(timedelta(days=30))
    report = deadlines.run(world.runtime)
    assert report.failed == [referral_id]
    assert report.reminded == report.overdue == []


@pytest.mark.worker
def test_the_scheduled_job_runs_on_a_real_worker(
    outbox_runtime: Runtime,
    start_worker: Callable[..., HubProcess],
) -> None:
    with TestClient(create_app(outbox_runtime)) as api:
        world = make_world(outbox_runtime, api)
        overdue = world.sent(urgency="emergency")
        fresh = world.sent(urgency="normal")
    with outbox_runtime.sessions.begin() as db:
        # a referral sent long ago: its deadline and escalation window are behind us
        db.execute(
            update(Referral)
            .where(Referral.id == overdue)
            .values(acknowledge_by=utcnow() - timedelta(hours=6))
        )
    worker = start_worker("--beat")

    def failed() -> bool:
        return _referral(outbox_runtime, overdue).status == "failed"

    wait_for(failed, "the overdue referral failed", watch=worker)
    assert _referral(outbox_runtime, fresh).status in {"sent", "delivered"}
