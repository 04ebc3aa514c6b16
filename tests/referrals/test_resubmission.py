"""A referral a consent officer sends back: returned, then resubmitted (the gate is asked again
as at creation) or cancelled; the sender reads why, the recipient never does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.delivery.models import Delivery
from hub.outbox.models import OutboxMessage
from hub.referrals.models import Referral
from hub.reviews.models import Review
from tests.support.outbox_drain import drain
from tests.support.referral_world import CANARY_NOTE, World
from tests.support.reviews import consent_officer

WHY = "Legal status is not needed for psychosocial support: remove it, or explain."
SENSITIVE = ["identity", "contact", "psychosocial", "legal_status"]


def held(world: World) -> tuple[str, str]:
    """A referral held for review (a sensitive category consented to); (referral, review)."""
    case_id = world.case()
    world.consent(case_id, categories=SENSITIVE)
    response = world.refer(case_id)
    assert response.status_code == 202, response.text
    return str(response.json()["id"]), str(response.json()["review_id"])


def return_(world: World, review_id: str, why: str = WHY) -> Any:
    """The officer's client, acting for a consent officer (sending back is a person's act)."""
    person = consent_officer(world.runtime, world.sender.organization_id)
    return world.api.post(
        f"/v1/reviews/{review_id}/return",
        json={"justification": why},
        headers=world.officer.headers | {"On-Behalf-Of": person},
    )


def send_back(world: World, review_id: str, why: str = WHY) -> dict[str, Any]:
    response = return_(world, review_id, why)
    assert response.status_code == 200, response.text
    drain(world.runtime)
    return dict(response.json())


def resubmit(world: World, referral_id: str, body: dict[str, Any] | None = None) -> Any:
    return world.api.post(
        f"/v1/referrals/{referral_id}/resubmit", json=body or {}, headers=world.sender.headers
    )


def test_a_returned_referral_waits_for_its_sender_and_says_why(world: World) -> None:
    referral_id, review_id = held(world)
    answer = send_back(world, review_id)
    assert answer["status"] == "returned" and answer["justification"] == WHY
    read = world.get(referral_id, world.sender).json()
    assert (read["status"], read["status_reason"], read["fhir_status"]) == (
        "returned",
        "review_returned",
        "on-hold",
    )
    assert read["allowed_actions"] == ["cancel", "resubmit"]
    assert read["review"]["status"] == "returned"
    assert read["review"]["justification"] == WHY and read["review"]["decided_at"]
    # nothing was sent: no delivery, and the recipient knows nothing of it
    with world.runtime.sessions() as db:
        assert db.scalars(select(Delivery).where(Delivery.referral_id == referral_id)).all() == []
        assert db.get_one(Referral, referral_id).sent_at is None
    assert world.get(referral_id, world.recipient).status_code == 404
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert [e["to_status"] for e in events.json()["items"]] == ["pending_review", "returned"]


def test_resubmitted_without_what_needed_review_it_is_sent(world: World) -> None:
    referral_id, review_id = held(world)
    send_back(world, review_id)
    response = resubmit(world, referral_id, {"categories": ["identity", "contact", "psychosocial"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "sent" and body["categories"] == [
        "contact",
        "identity",
        "psychosocial",
    ]
    assert body["acknowledge_by"] is not None
    drain(world.runtime)
    # the recipient has it now, and never the officer's words
    received = world.get(referral_id, world.recipient)
    assert received.status_code == 200, received.text
    assert received.json()["review"] is None
    assert WHY not in received.text
    assert "legal_status" not in received.json()["payload"]
    # the sender still reads the latest review's answer
    assert world.get(referral_id, world.sender).json()["review"]["justification"] == WHY
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert [e["to_status"] for e in events.json()["items"]][:4] == [
        "pending_review",
        "returned",
        "pending_review",
        "sent",
    ]
    again = resubmit(world, referral_id)
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_resubmitted_still_needing_review_opens_a_new_one(world: World) -> None:
    referral_id, review_id = held(world)
    send_back(world, review_id)
    amended = "Amended note: legal status needed for the asylum claim"
    response = resubmit(world, referral_id, {"note": amended})
    assert response.status_code == 202, response.text
    new_review = response.json()["review_id"]
    assert new_review != review_id and response.json()["status"] == "pending_review"
    review = world.api.get(f"/v1/reviews/{new_review}", headers=world.officer.headers).json()
    assert review["status"] == "pending" and review["note"] == amended
    assert review["requested_by"] == f"client:{world.sender.client_id}"
    assert review["returned"]["review_id"] == review_id
    assert review["returned"]["justification"] == WHY
    # the sender now reads the new review's state
    assert world.get(referral_id, world.sender).json()["review"] == {
        "status": "pending",
        "justification": None,
        "decided_at": None,
    }
    # the officer approves this time: it is sent
    approved = world.api.post(
        f"/v1/reviews/{new_review}/approve",
        json={"justification": "Needed for the claim."},
        headers=world.officer.headers,
    )
    assert approved.status_code == 200, approved.text
    drain(world.runtime)
    assert world.get(referral_id, world.sender).json()["status"] in {"sent", "delivered"}


def test_resubmitted_and_denied_by_the_gate(world: World) -> None:
    referral_id, review_id = held(world)
    send_back(world, review_id)
    # a purpose no consent and no agreement covers
    response = resubmit(world, referral_id, {"purpose": "livelihoods"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "consent_denied"
    assert "no_consent" in [r["code"] for r in problem["reasons"]]
    read = world.get(referral_id, world.sender).json()
    assert (read["status"], read["status_reason"]) == ("denied", "consent_denied")
    assert read["purpose"] == "livelihoods"
    with world.runtime.sessions() as db:
        assert db.get_one(Referral, referral_id).sent_at is None


def test_resubmission_is_the_senders_and_checks_its_values(world: World) -> None:
    referral_id, review_id = held(world)
    # not returned yet: pending review
    early = resubmit(world, referral_id)
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    send_back(world, review_id)
    for who in (world.recipient, world.outsider):
        hidden = world.api.post(
            f"/v1/referrals/{referral_id}/resubmit", json={}, headers=who.headers
        )
        assert hidden.status_code == 404, hidden.text
    unknown = resubmit(world, referral_id, {"categories": ["identity", "horoscope"]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_value"
    extra = resubmit(world, referral_id, {"recipient": "someone else"})
    assert extra.status_code == 422
    assert world.get(referral_id, world.sender).json()["status"] == "returned"


def test_a_returned_referral_can_be_cancelled_or_is_cancelled_by_a_withdrawal(
    world: World,
) -> None:
    referral_id, review_id = held(world)
    send_back(world, review_id)
    cancelled = world.act(referral_id, "cancel", world.sender, {"reason": "no longer needed"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    case_id = world.case()
    consent = world.consent(case_id, categories=SENSITIVE)
    response = world.refer(case_id)
    other, other_review = str(response.json()["id"]), str(response.json()["review_id"])
    send_back(world, other_review)
    world.withdraw(consent["id"])
    drain(world.runtime)
    read = world.get(other, world.sender).json()
    assert (read["status"], read["status_reason"]) == ("cancelled", "consent_withdrawn")


def test_the_return_needs_a_justification_and_a_pending_review(world: World) -> None:
    _, review_id = held(world)
    for body in ({}, {"justification": "  "}):
        refused = world.api.post(
            f"/v1/reviews/{review_id}/return", json=body, headers=world.officer.headers
        )
        assert refused.status_code == 422, refused.text
    # a client acting for no person may not send back at all
    alone = world.api.post(
        f"/v1/reviews/{review_id}/return",
        json={"justification": WHY},
        headers=world.officer.acting_for(None).headers,
    )
    assert alone.status_code == 403 and alone.json()["code"] == "person_required"
    send_back(world, review_id)
    again = return_(world, review_id)
    assert again.status_code == 409 and again.json()["review_status"] == "returned"
    # running the decision's message twice changes nothing more
    with world.runtime.sessions() as db:
        topics = list(db.scalars(select(OutboxMessage.topic)))
        assert topics.count("review.decided") == 1
        assert db.get_one(Review, review_id).status == "returned"
    assert CANARY_NOTE not in str(topics)
