"""No review outlives its request: a referral or transfer that leaves review by another route
than the review's decision (its sender cancels it, a consent withdrawal cancels it) closes its
pending review as `withdrawn`, and no officer sees, is reminded of, or decides it again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.clock import clock
from hub.outbox.models import OutboxMessage
from hub.reviews import deadlines
from hub.reviews import service as reviews
from hub.reviews.models import Review
from hub.reviews.schemas import ReviewStatus
from hub.reviews.service import DECIDED_TOPIC
from hub.runtime import Runtime
from tests.support import referral_world, transfer_world
from tests.support.api import Partner
from tests.support.outbox_drain import drain
from tests.support.reviews import officer_actor, officer_returns

SENSITIVE = ["identity", "contact", "psychosocial", "legal_status"]


def _review(runtime: Runtime, review_id: str) -> Review:
    with runtime.sessions() as db:
        return db.get_one(Review, review_id)


def _closings(runtime: Runtime, review_id: str) -> list[AuditEntry]:
    with runtime.sessions() as db:
        return list(
            db.scalars(
                select(AuditEntry).where(
                    AuditEntry.object_id == review_id, AuditEntry.action == "review.closed"
                )
            )
        )


def _decided_messages(runtime: Runtime) -> int:
    with runtime.sessions() as db:
        topics = db.scalars(select(OutboxMessage.topic).where(OutboxMessage.topic == DECIDED_TOPIC))
        return len(list(topics))


def _nowhere_for_the_officers(
    runtime: Runtime, api: TestClient, officer: Partner, review_id: str
) -> None:
    """Out of the queue, the count, the pending list; every decision answers 409."""
    org = officer.organization_id
    with runtime.sessions() as db:
        queued = reviews.queue(db=db, keyring=runtime.keyring, organization_id=org)
        below = reviews.queue(
            db=db, keyring=runtime.keyring, organization_id=org, include_below=True
        )
        assert review_id not in {r.id for r in queued + below}
        assert reviews.count_waiting(db=db, organization_id=org) == 0
    for query in ("?status=pending", "?order=priority"):
        listed = api.get(f"/v1/reviews{query}", headers=officer.headers)
        assert listed.status_code == 200, listed.text
        assert review_id not in {item["id"] for item in listed.json()["items"]}
    withdrawn = api.get("/v1/reviews?status=withdrawn", headers=officer.headers).json()
    assert [item["id"] for item in withdrawn["items"]] == [review_id]
    for verdict in ("approve", "deny", "return"):
        late = api.post(
            f"/v1/reviews/{review_id}/{verdict}",
            json={"justification": "decided too late"},
            headers=officer.headers,
        )
        assert late.status_code == 409, late.text
        assert (late.json()["code"], late.json()["review_status"]) == (
            "review_decided",
            "withdrawn",
        )
    # a person sending it back is told the same
    person = officer_actor(runtime, org)
    with runtime.sessions.begin() as db, pytest.raises(reviews.ReviewDecided):
        reviews.decide(
            db=db,
            review=db.get_one(Review, review_id),
            actor=person,
            outcome=ReviewStatus.returned,
            justification="decided too late",
        )


def _closed_by(runtime: Runtime, review_id: str, actor: str, reason_code: str) -> None:
    review = _review(runtime, review_id)
    assert review.status == ReviewStatus.withdrawn
    assert review.decided_by == actor and review.decided_at is not None
    assert review.justification is None
    [entry] = _closings(runtime, review_id)
    assert entry.actor == actor
    assert entry.details["reason_code"] == reason_code
    assert entry.details["object_id"] == review.object_id


# --- referrals -------------------------------------------------------------------------------


@pytest.fixture
def referrals(runtime: Runtime, api: TestClient) -> referral_world.World:
    return referral_world.make_world(runtime, api)


def _held_referral(world: referral_world.World) -> tuple[str, str, dict[str, Any]]:
    case_id = world.case()
    consent = world.consent(case_id, categories=SENSITIVE)
    response = world.refer(case_id)
    assert response.status_code == 202, response.text
    return str(response.json()["id"]), str(response.json()["review_id"]), consent


def test_a_referral_its_sender_cancels_closes_its_review(
    runtime: Runtime, api: TestClient, referrals: referral_world.World
) -> None:
    world = referrals
    referral_id, review_id, _ = _held_referral(world)
    cancelled = world.act(referral_id, "cancel", world.sender, {"reason": "no longer needed"})
    assert cancelled.status_code == 200, cancelled.text
    drain(runtime)
    _closed_by(runtime, review_id, f"client:{world.sender.client_id}", "cancelled_by_sender")
    # nothing to act on: no decision message, and the referral stays cancelled
    assert _decided_messages(runtime) == 0
    _nowhere_for_the_officers(runtime, api, world.officer, review_id)
    drain(runtime)
    read = world.get(referral_id, world.sender).json()
    assert (read["status"], read["status_reason"]) == ("cancelled", "cancelled_by_sender")
    assert read["review"]["status"] == "withdrawn" and read["review"]["justification"] is None


def test_a_consent_withdrawal_closes_the_held_referrals_review_and_the_deadlines_skip_it(
    runtime: Runtime, api: TestClient, referrals: referral_world.World
) -> None:
    world = referrals
    referral_id, review_id, consent = _held_referral(world)
    _, waiting, _ = _held_referral(world)
    world.withdraw(consent["id"])
    drain(runtime)
    read = world.get(referral_id, world.sender).json()
    assert (read["status"], read["status_reason"]) == ("cancelled", "consent_withdrawn")
    _closed_by(runtime, review_id, "system:hub", "consent_withdrawn")
    # the other case's referral still waits for its officer
    assert _review(runtime, waiting).status == ReviewStatus.pending
    # long past every time limit: the pass reminds, flags and escalates the one still waiting
    clock.advance(timedelta(days=30))
    report = deadlines.run(runtime)
    touched = report.reminded + report.overdue + report.escalated
    assert review_id not in touched and waiting in touched
    closed = _review(runtime, review_id)
    assert (closed.reminded_at, closed.overdue_since, closed.escalated_at) == (None, None, None)
    assert _decided_messages(runtime) == 0


def test_a_review_already_decided_is_left_as_decided(
    runtime: Runtime, referrals: referral_world.World
) -> None:
    world = referrals
    referral_id, review_id, _ = _held_referral(world)
    officer = officer_actor(runtime, world.sender.organization_id)
    officer_returns(runtime, review_id, actor=officer)
    drain(runtime)
    assert world.get(referral_id, world.sender).json()["status"] == "returned"
    cancelled = world.act(referral_id, "cancel", world.sender, {"reason": "no longer needed"})
    assert cancelled.status_code == 200, cancelled.text
    review = _review(runtime, review_id)
    assert (review.status, review.decided_by) == ("returned", officer)
    assert _closings(runtime, review_id) == []


def test_a_decision_racing_a_cancellation_changes_nothing(
    runtime: Runtime, referrals: referral_world.World
) -> None:
    """Approved, then cancelled before the decision's message runs: the approval stands on the
    review, and the message leaves the cancelled referral alone."""
    world = referrals
    referral_id, review_id, _ = _held_referral(world)
    approved = world.api.post(
        f"/v1/reviews/{review_id}/approve",
        json={"justification": "needed for the asylum claim"},
        headers=world.officer.headers,
    )
    assert approved.status_code == 200, approved.text
    cancelled = world.act(referral_id, "cancel", world.sender, {"reason": "no longer needed"})
    assert cancelled.status_code == 200, cancelled.text
    drain(runtime)
    assert _review(runtime, review_id).status == ReviewStatus.approved
    assert _closings(runtime, review_id) == []
    assert world.get(referral_id, world.sender).json()["status"] == "cancelled"


# --- transfers -------------------------------------------------------------------------------


@pytest.fixture
def transfers(runtime: Runtime, api: TestClient) -> transfer_world.World:
    return transfer_world.make_world(runtime, api)


def _held_transfer(world: transfer_world.World) -> tuple[str, str, dict[str, Any]]:
    case_id = world.case()
    consent = world.consent(case_id, categories=["identity", "contact", "health"])
    response = world.propose(case_id)
    assert response.status_code == 202, response.text
    return str(response.json()["id"]), str(response.json()["review_id"]), consent


def test_a_transfer_its_sender_cancels_closes_its_review(
    runtime: Runtime, api: TestClient, transfers: transfer_world.World
) -> None:
    world = transfers
    transfer_id, review_id, _ = _held_transfer(world)
    cancelled = world.act(transfer_id, "cancel", world.sender, {"reason": "moved on"})
    assert cancelled.status_code == 200, cancelled.text
    drain(runtime)
    _closed_by(runtime, review_id, f"client:{world.sender.client_id}", "cancelled_by_sender")
    assert _decided_messages(runtime) == 0
    _nowhere_for_the_officers(runtime, api, world.officer, review_id)
    read = world.get(transfer_id, world.sender).json()
    assert read["status"] == "cancelled" and read["review"]["status"] == "withdrawn"


def test_a_consent_withdrawal_closes_the_held_transfers_review(
    runtime: Runtime, api: TestClient, transfers: transfer_world.World
) -> None:
    world = transfers
    transfer_id, review_id, consent = _held_transfer(world)
    world.withdraw(consent["id"])
    drain(runtime)
    assert world.get(transfer_id, world.sender).json()["status"] == "cancelled"
    _closed_by(runtime, review_id, "system:hub", "consent_withdrawn")
    _nowhere_for_the_officers(runtime, api, world.officer, review_id)
