"""Consent officers' time limits: reminded before, flagged overdue at, escalated after."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hub.audit.models import AuditEntry
from hub.clock import clock, utcnow
from hub.outbox.models import OutboxMessage
from hub.reviews import deadlines
from hub.reviews import service as reviews
from hub.reviews.models import Review
from hub.reviews.schemas import ReviewStatus
from hub.runtime import Runtime
from tests.support import factories
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.reviews import held_request, officer_actor
from tests.support.workers import HubProcess, wait_for


def _review(runtime: Runtime, review_id: str) -> Review:
    with runtime.sessions() as db:
        return db.get_one(Review, review_id)


def _offices(runtime: Runtime) -> tuple[str, str]:
    with runtime.sessions.begin() as db:
        country = factories.org(db, runtime.policy, "IOM Niger", kind="iom_office").id
        sub = factories.org(
            db, runtime.policy, "IOM Agadez", kind="iom_office", parent_id=country
        ).id
    return country, sub


def _count(runtime: Runtime, topic: str) -> int:
    with runtime.sessions() as db:
        return len(db.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic)).all())


def test_an_emergency_is_reminded_flagged_then_escalated_to_the_office_above(
    runtime: Runtime,
) -> None:
    country, sub = _offices(runtime)
    review_id = held_request(runtime, sub, urgency="emergency")
    normal = held_request(runtime, sub, urgency="normal")
    held_at = _review(runtime, review_id).created_at
    # the policy's emergency limit: 1 h, reminded 15 min before, escalated 30 min past it
    quiet = run_at(deadlines.run, runtime, held_at + timedelta(minutes=40))
    assert (quiet.reminded, quiet.overdue, quiet.escalated) == ([], [], [])

    first = run_at(deadlines.run, runtime, held_at + timedelta(minutes=50))
    assert first.reminded == [review_id]
    assert run_at(deadlines.run, runtime, held_at + timedelta(minutes=55)).reminded == []

    late = run_at(deadlines.run, runtime, held_at + timedelta(minutes=61))
    assert late.overdue == [review_id] and late.escalated == []
    with runtime.sessions() as db:
        assert reviews.count_waiting(db=db, organization_id=country) == 0

    final = run_at(deadlines.run, runtime, held_at + timedelta(minutes=91))
    assert final.escalated == [review_id]
    escalated = _review(runtime, review_id)
    assert escalated.escalated_to_organization_id == country
    assert escalated.escalated_at is not None and escalated.overdue_since is not None
    assert escalated.status == "pending"
    with runtime.sessions() as db:
        queued = reviews.queue(db=db, keyring=runtime.keyring, organization_id=country)
        assert [r.id for r in queued] == [review_id]
        assert queued[0].overdue and queued[0].escalated
        entries = db.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == review_id)
        ).all()
    assert {"review.reminded", "review.overdue", "review.escalated"} <= set(entries)
    for topic in (deadlines.REMINDER_TOPIC, deadlines.OVERDUE_TOPIC, deadlines.ESCALATED_TOPIC):
        assert _count(runtime, topic) == 1, topic
    # nothing more, however often it runs
    again = run_at(deadlines.run, runtime, held_at + timedelta(hours=5))
    assert review_id not in again.reminded + again.overdue + again.escalated
    # the normal one was not due yet
    assert _review(runtime, normal).reminded_at is None
    drain(runtime)
    with runtime.sessions() as db:
        assert set(db.scalars(select(OutboxMessage.status))) == {"done"}


def test_with_no_office_above_the_escalation_is_flagged_and_stays_on_top(
    runtime: Runtime,
) -> None:
    country, _ = _offices(runtime)
    normal = held_request(runtime, country, urgency="normal")
    emergency = held_request(runtime, country, urgency="emergency")
    clock.advance(timedelta(hours=3))
    report = deadlines.run(runtime)
    assert report.escalated == [emergency]
    # escalated long past its limit in one pass: not reminded or flagged on the way
    assert report.reminded == report.overdue == []
    flagged = _review(runtime, emergency)
    assert flagged.escalated_at is not None and flagged.escalated_to_organization_id is None
    with runtime.sessions() as db:
        queued = reviews.queue(db=db, keyring=runtime.keyring, organization_id=country)
    assert [r.id for r in queued] == [emergency, normal]
    assert queued[0].escalated and queued[0].escalated_to_organization_id is None
    assert _count(runtime, deadlines.ESCALATED_TOPIC) == 1
    drain(runtime)


def test_a_decided_review_is_left_alone(runtime: Runtime) -> None:
    _, sub = _offices(runtime)
    review_id = held_request(runtime, sub, urgency="high")
    officer = officer_actor(runtime, sub)
    with runtime.sessions.begin() as db:
        reviews.decide(
            db=db,
            review=db.get_one(Review, review_id),
            actor=officer,
            outcome=ReviewStatus.denied,
            justification="no",
        )
    clock.advance(timedelta(days=3))
    report = deadlines.run(runtime)
    assert review_id not in report.reminded + report.overdue + report.escalated
    untouched = _review(runtime, review_id)
    assert (untouched.reminded_at, untouched.overdue_since, untouched.escalated_at) == (
        None,
        None,
        None,
    )


@pytest.mark.worker
def test_the_scheduled_pass_runs_on_a_real_worker(
    outbox_runtime: Runtime,
    start_worker: Callable[..., HubProcess],
) -> None:
    country, sub = _offices(outbox_runtime)
    late = held_request(outbox_runtime, sub, urgency="emergency")
    fresh = held_request(outbox_runtime, sub, urgency="normal")
    with outbox_runtime.sessions.begin() as db:
        # held long ago: its limit and the escalation window are behind us
        db.execute(
            update(Review).where(Review.id == late).values(due_at=utcnow() - timedelta(hours=2))
        )
    worker = start_worker("--beat")

    def escalated() -> bool:
        return _review(outbox_runtime, late).escalated_to_organization_id == country

    wait_for(escalated, "the late review was escalated", watch=worker)
    assert _review(outbox_runtime, fresh).escalated_at is None
