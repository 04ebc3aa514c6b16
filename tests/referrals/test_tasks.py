"""The outbox handlers of the referral flow, run in the test process: delivery, the review's
decision, the consent-withdrawal cascade and its notices; each safe to run twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from hub.audit.models import AuditEntry
from hub.clock import utcnow
from hub.consent.models import Consent
from hub.delivery.models import Delivery
from hub.organizations.models import DataSharingAgreement
from hub.outbox.service import get_handler
from hub.referrals.models import Referral, WithdrawalNotice
from hub.reviews.models import Review
from hub.reviews.service import DECIDED_TOPIC
from tests.support.outbox_drain import drain, pending
from tests.support.referral_world import World


def _status(world: World, referral_id: str) -> tuple[str, str | None]:
    with world.runtime.sessions() as db:
        referral = db.get_one(Referral, referral_id)
        return referral.status, referral.status_reason


def _held(world: World) -> tuple[dict[str, Any], str]:
    case_id = world.case()
    consent = world.consent(case_id, categories=["identity", "health"])
    held = world.refer(case_id, categories=["identity", "health"]).json()
    assert held["status"] == "pending_review"
    return held, consent["id"]


def _decide(world: World, review_id: str, verdict: str) -> None:
    response = world.api.post(
        f"/v1/reviews/{review_id}/{verdict}",
        json={"justification": "checked with the case worker"},
        headers=world.officer.headers,
    )
    assert response.status_code == 200, response.text


def _run_again(world: World, topic: str, payload: dict[str, Any]) -> None:
    """Run a handler once more with a payload it already handled (a duplicate message)."""
    handler = get_handler(topic)
    assert handler is not None
    with world.runtime.sessions.begin() as db:
        handler(db, world.runtime, payload)


def test_approval_sends_it(world: World) -> None:
    held, _ = _held(world)
    _decide(world, held["review_id"], "approve")
    assert drain(world.runtime) == ["review.decided", "referral.deliver"]

    body = world.get(held["id"], world.sender).json()
    assert body["status"] == "delivered"
    assert body["categories"] == ["health", "identity"]
    assert body["sent_at"] is not None and body["acknowledge_by"] is not None
    events = world.api.get(f"/v1/referrals/{held['id']}/events", headers=world.sender.headers)
    steps = [(e["from_status"], e["to_status"], e["actor"]) for e in events.json()["items"]]
    assert steps[1] == ("pending_review", "sent", world.officer.actor)

    _run_again(world, DECIDED_TOPIC, {**_decided(held), "outcome": "approved"})
    assert _status(world, held["id"]) == ("delivered", None)
    assert pending(world.runtime) == []


def _decided(held: dict[str, Any]) -> dict[str, Any]:
    return {"review_id": held["review_id"], "kind": "referral", "object_id": held["id"]}


def test_denial_makes_it_denied(world: World) -> None:
    held, _ = _held(world)
    _decide(world, held["review_id"], "deny")
    assert drain(world.runtime) == ["review.decided"]
    assert _status(world, held["id"]) == ("denied", "review_denied")
    # nothing left, and the recipient never saw it
    assert pending(world.runtime) == []
    assert world.get(held["id"], world.recipient).status_code == 404
    _run_again(world, DECIDED_TOPIC, {**_decided(held), "outcome": "denied"})
    assert _status(world, held["id"]) == ("denied", "review_denied")


def test_a_withdrawal_while_held_still_stops_an_approved_referral(world: World) -> None:
    held, consent_id = _held(world)
    world.withdraw(consent_id)
    _decide(world, held["review_id"], "approve")
    drain(world.runtime)
    assert _status(world, held["id"]) == ("cancelled", "consent_withdrawn")
    with world.runtime.sessions() as db:
        referral = db.get_one(Referral, held["id"])
        assert referral.snapshot_ciphertext is None and referral.sent_at is None


def test_the_gate_asked_again_at_approval_can_deny(world: World) -> None:
    held, _ = _held(world)
    with world.runtime.sessions.begin() as db:
        db.execute(update(DataSharingAgreement).values(revoked_at=DataSharingAgreement.valid_from))
    _decide(world, held["review_id"], "approve")
    drain(world.runtime)
    assert _status(world, held["id"]) == ("denied", "consent_denied")


def test_the_withdrawal_cascade(world: World) -> None:
    """Unanswered referrals resting on the series are cancelled; recipients that received data
    are told; an acknowledged referral stays, and is told too when it received data."""
    case_id = world.case()
    consent = world.consent(case_id)
    other_consent = world.consent(case_id, purposes=["shelter"])

    def refer(**overrides: Any) -> str:
        response = world.refer(case_id, **overrides)
        assert response.status_code in (201, 202), response.text
        return str(response.json()["id"])

    sent_unread = refer()
    delivered_read = refer()
    acknowledged_read = refer()
    acknowledged_unread = refer()
    held = refer(categories=["identity", "migration_history"])  # not agreed: held for review
    drain(world.runtime)
    for referral_id in (delivered_read, acknowledged_read):
        assert world.get(referral_id, world.recipient).json()["payload"]
    for referral_id in (acknowledged_read, acknowledged_unread):
        assert world.act(referral_id, "acknowledge", world.recipient).status_code == 200
    assert _status(world, held)[0] == "pending_review"
    assert _status(world, sent_unread)[0] == "delivered"

    world.withdraw(consent["id"])
    topics = drain(world.runtime)
    assert topics.count("referral.withdrawal_notice") == 2

    for referral_id in (sent_unread, delivered_read, held):
        assert _status(world, referral_id) == ("cancelled", "consent_withdrawn")
    for referral_id in (acknowledged_read, acknowledged_unread):
        assert _status(world, referral_id) == ("acknowledged", None)
    with world.runtime.sessions() as db:
        notices = db.scalars(select(WithdrawalNotice)).all()
        assert {n.referral_id for n in notices} == {delivered_read, acknowledged_read}
        assert all(n.notified_at is not None for n in notices)
        assert {n.recipient_organization_id for n in notices} == {world.recipient.organization_id}
        notified = db.scalars(
            select(AuditEntry.object_id).where(AuditEntry.action == "referral.withdrawal_notified")
        ).all()
        assert sorted(notified) == sorted([delivered_read, acknowledged_read])
    events = world.api.get(
        f"/v1/referrals/{acknowledged_read}/events", headers=world.recipient.headers
    )
    assert events.json()["items"][-1]["reason_code"] == "consent_withdrawn_notice"

    # run twice: no second cancellation, no second notice
    message = {"consent_id": consent["id"], "series_id": consent["series_id"], "case_id": case_id}
    _run_again(world, "consent.withdrawn", message)
    assert pending(world.runtime) == []
    _run_again(
        world,
        "referral.withdrawal_notice",
        {
            "referral_id": delivered_read,
            "series_id": consent["series_id"],
        },
    )
    with world.runtime.sessions() as db:
        count = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "referral.withdrawal_notified")
        ).all()
        assert len(count) == 2
    # a consent of another series changes nothing here
    assert other_consent["series_id"] != consent["series_id"]


def test_the_cascade_leaves_other_cases_and_series_alone(world: World) -> None:
    case_a, case_b = world.case(), world.case()
    consent_a = world.consent(case_a)
    world.consent(case_b)
    referral_b = world.refer(case_b).json()["id"]
    world.withdraw(consent_a["id"])
    drain(world.runtime)
    assert _status(world, referral_b)[0] == "delivered"


def test_a_later_version_of_the_series_counts(world: World) -> None:
    case_id = world.case()
    v1 = world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]  # rests on v1
    v2 = world.consent(case_id, supersedes=v1["id"])
    world.withdraw(v2["id"])
    drain(world.runtime)
    assert _status(world, referral_id) == ("cancelled", "consent_withdrawn")


def test_delivery_runs_once(world: World) -> None:
    referral_id = world.sent()
    drain(world.runtime)
    with world.runtime.sessions() as db:
        delivery_id = db.scalars(
            select(Delivery.id).where(Delivery.referral_id == referral_id)
        ).one()
    _run_again(world, "referral.deliver", {"delivery_id": delivery_id})
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert [e["to_status"] for e in events.json()["items"]] == ["sent", "delivered"]


def test_a_referral_cancelled_before_delivery_is_not_delivered(world: World) -> None:
    referral_id = world.sent()
    world.act(referral_id, "cancel", world.sender, {"reason": "sent by mistake"})
    drain(world.runtime)
    assert _status(world, referral_id) == ("cancelled", "cancelled_by_sender")


def test_a_new_trigger_at_approval_asks_a_consent_officer_again(world: World) -> None:
    held, consent_id = _held(world)
    with world.runtime.sessions.begin() as db:
        # the consent has aged past the policy's limit while the review waited
        long_ago = utcnow() - timedelta(days=800)
        db.execute(update(Consent).where(Consent.id == consent_id).values(given_at=long_ago))
    _decide(world, held["review_id"], "approve")
    drain(world.runtime)
    body = world.get(held["id"], world.sender).json()
    assert body["status"] == "pending_review"
    assert body["review_id"] != held["review_id"]
    with world.runtime.sessions() as db:
        again = db.get_one(Review, body["review_id"])
        assert "stale_consent" in [r["code"] for r in again.reasons]
    _decide(world, body["review_id"], "approve")
    drain(world.runtime)
    assert _status(world, held["id"]) == ("delivered", None)
    assert sorted(world.get(held["id"], world.recipient).json()["payload"]) == [
        "health",
        "identity",
    ]
