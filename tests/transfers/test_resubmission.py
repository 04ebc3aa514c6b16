"""A transfer a consent officer sends back: returned, then resubmitted (the gate is asked
again as when it was proposed) or cancelled; the sender reads why, the recipient never does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.consent.models import Consent
from hub.delivery.models import Delivery
from tests.support.outbox_drain import drain
from tests.support.reviews import consent_officer
from tests.support.transfer_world import CANARY_PLAN, World, plan

WHY = "Health is not needed by the receiving office: remove it from the plan, or explain."


def held(world: World) -> tuple[str, str, str]:
    """A transfer held for review (health consented: a sensitive category); (transfer,
    review, case)."""
    case_id = world.case()
    consent = world.consent(case_id, categories=["identity", "contact", "health"])
    response = world.propose(case_id)
    assert response.status_code == 202, response.text
    return str(response.json()["id"]), str(response.json()["review_id"]), consent["id"]


def send_back(world: World, review_id: str) -> None:
    """The officer's client, acting for a consent officer (sending back is a person's act)."""
    person = consent_officer(world.runtime, world.sender.organization_id)
    response = world.api.post(
        f"/v1/reviews/{review_id}/return",
        json={"justification": WHY},
        headers=world.officer.headers | {"On-Behalf-Of": person},
    )
    assert response.status_code == 200, response.text
    drain(world.runtime)


def resubmit(world: World, transfer_id: str, body: dict[str, Any] | None = None) -> Any:
    return world.act(transfer_id, "resubmit", world.sender, body or {})


def test_a_returned_transfer_says_why_to_its_sender_only(world: World) -> None:
    transfer_id, review_id, _ = held(world)
    send_back(world, review_id)
    read = world.get(transfer_id, world.sender).json()
    assert (read["status"], read["status_reason"]) == ("returned", "review_returned")
    assert read["allowed_actions"] == ["cancel", "resubmit"]
    assert read["review"]["status"] == "returned" and read["review"]["justification"] == WHY
    assert world.get(transfer_id, world.ngo).status_code == 404
    with world.runtime.sessions() as db:
        assert db.scalars(select(Delivery).where(Delivery.transfer_id == transfer_id)).all() == []
    # one open transfer per case: the returned one counts
    listed = world.api.get("/v1/transfers?status=returned", headers=world.sender.headers)
    assert [t["id"] for t in listed.json()["items"]] == [transfer_id]


def test_resubmitted_it_is_held_again_then_offered_on_approval(world: World) -> None:
    transfer_id, review_id, _ = held(world)
    send_back(world, review_id)
    amended = plan(reason="Amended: " + CANARY_PLAN)
    response = resubmit(world, transfer_id, {"plan": amended})
    assert response.status_code == 202, response.text
    new_review = response.json()["review_id"]
    assert new_review != review_id
    review = world.api.get(f"/v1/reviews/{new_review}", headers=world.officer.headers).json()
    assert review["kind"] == "transfer" and review["urgency"] == "normal"
    # the plan's reason is not shown as a note
    assert review["note"] is None
    assert review["returned"]["justification"] == WHY
    assert world.get(transfer_id, world.sender).json()["plan"]["reason"].startswith("Amended")
    world.decide(new_review, "approve")
    received = world.get(transfer_id, world.ngo)
    assert received.status_code == 200, received.text
    assert received.json()["status"] == "sent"
    assert received.json()["review"] is None and WHY not in received.text


def test_resubmitted_and_denied_it_is_cancelled(world: World) -> None:
    transfer_id, review_id, consent_id = held(world)
    send_back(world, review_id)
    world.withdraw(consent_id)
    drain(world.runtime)
    # the withdrawal already cancelled it (a returned transfer is still waiting)
    read = world.get(transfer_id, world.sender).json()
    assert (read["status"], read["status_reason"]) == ("cancelled", "consent_withdrawn")

    other, other_review, other_consent = held(world)
    send_back(world, other_review)
    # the consent expires meanwhile, without a withdrawal: the gate denies the resubmission
    with world.runtime.sessions.begin() as db:
        row = db.get_one(Consent, other_consent)
        row.valid_until = row.valid_from
    response = resubmit(world, other)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "consent_denied"
    read = world.get(other, world.sender).json()
    assert (read["status"], read["status_reason"]) == ("cancelled", "consent_denied")


def test_only_the_sender_resubmits_a_returned_transfer(world: World) -> None:
    transfer_id, review_id, _ = held(world)
    early = resubmit(world, transfer_id)
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    send_back(world, review_id)
    for who in (world.ngo, world.outsider):
        assert world.act(transfer_id, "resubmit", who).status_code == 404
    bad = resubmit(world, transfer_id, {"plan": {"reason": "x"}})
    assert bad.status_code == 422
    cancelled = world.act(transfer_id, "cancel", world.sender, {"reason": "case closed"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
