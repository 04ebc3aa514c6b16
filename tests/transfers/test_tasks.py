"""The transfer flow's hooks, run by the outbox handlers of `hub.lifecycle.tasks` and
`hub.consent.tasks`: a consent officer's decision on a held transfer (`review.decided`) and a
consent withdrawal (`consent.withdrawn`); each safe to run twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from hub.consent.models import Consent
from hub.consent.service import WITHDRAWN_TOPIC
from hub.organizations.models import DataSharingAgreement
from hub.outbox.service import get_handler
from hub.reviews.service import DECIDED_TOPIC
from hub.transfers.models import Transfer
from tests.support.outbox_drain import drain, pending
from tests.support.transfer_world import World


def _status(world: World, transfer_id: str) -> tuple[str, str | None]:
    with world.runtime.sessions() as db:
        transfer = db.get_one(Transfer, transfer_id)
        return transfer.status, transfer.status_reason


def _held(world: World) -> tuple[dict[str, Any], str]:
    case_id = world.case()
    consent = world.consent(case_id, categories=["identity", "health"])
    held = world.propose(case_id)
    assert held.status_code == 202, held.text
    return held.json(), consent["id"]


def _run_again(world: World, topic: str, payload: dict[str, Any]) -> None:
    """Run a handler once more with a payload it already handled (a duplicate message)."""
    handler = get_handler(topic)
    assert handler is not None
    with world.runtime.sessions.begin() as db:
        handler(db, world.runtime, payload)


def _decided(held: dict[str, Any], outcome: str) -> dict[str, Any]:
    return {
        "review_id": held["review_id"],
        "kind": "transfer",
        "object_id": held["id"],
        "outcome": outcome,
    }


def test_approval_sends_it(world: World) -> None:
    held, _ = _held(world)
    world.decide(held["review_id"], "approve")
    assert _status(world, held["id"]) == ("sent", None)
    events = world.events(held["id"], world.sender)
    steps = [(e["from_status"], e["to_status"], e["actor"]) for e in events]
    assert steps == [
        (None, "pending_review", f"client:{world.sender.client_id}"),
        ("pending_review", "sent", world.officer.actor),
    ]
    # now the recipient sees it, and may accept it: the approved review covers the trigger
    assert world.get(held["id"], world.ngo).json()["status"] == "sent"
    _run_again(world, DECIDED_TOPIC, _decided(held, "approved"))
    assert len(world.events(held["id"], world.sender)) == 2
    accepted = world.act(held["id"], "accept", world.ngo)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["released_categories"] == ["health", "identity"]
    assert pending(world.runtime) == []


def test_denial_cancels_it(world: World) -> None:
    held, _ = _held(world)
    world.decide(held["review_id"], "deny")
    assert _status(world, held["id"]) == ("cancelled", "review_denied")
    assert world.get(held["id"], world.ngo).status_code == 404
    _run_again(world, DECIDED_TOPIC, _decided(held, "denied"))
    assert _status(world, held["id"]) == ("cancelled", "review_denied")
    assert len(world.events(held["id"], world.sender)) == 2


def test_the_gate_asked_again_at_approval_can_deny(world: World) -> None:
    held, _ = _held(world)
    with world.runtime.sessions.begin() as db:
        db.execute(update(DataSharingAgreement).values(revoked_at=DataSharingAgreement.valid_from))
    world.decide(held["review_id"], "approve")
    assert _status(world, held["id"]) == ("cancelled", "consent_denied")
    assert world.get(held["id"], world.ngo).status_code == 404


def test_a_withdrawal_cancels_the_transfers_that_rest_on_it(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    sent = world.propose(case_id).json()
    other_case = world.case()
    other_consent = world.consent(other_case, categories=["identity", "health"])
    held = world.propose(other_case).json()
    assert (sent["status"], held["status"]) == ("sent", "pending_review")
    # within the hierarchy no consent is relied on: a withdrawal leaves it alone
    internal_case = world.case()
    internal_consent = world.consent(internal_case)
    internal = world.propose(internal_case, world.country).json()
    # an accepted transfer is done: withdrawing afterwards does not undo it
    done_case = world.case()
    done_consent = world.consent(done_case)
    done = world.propose(done_case).json()
    assert world.act(done["id"], "accept", world.ngo).status_code == 200

    for consent_id in (consent["id"], other_consent["id"], internal_consent["id"]):
        world.withdraw(consent_id)
    # the new owner withdraws on its side: the case's consents are its own now
    response = world.api.post(
        f"/v1/consents/{done_consent['id']}/withdraw",
        json={"method": "verbal"},
        headers=world.ngo.headers,
    )
    assert response.status_code == 200, response.text
    assert WITHDRAWN_TOPIC in drain(world.runtime)

    assert _status(world, sent["id"]) == ("cancelled", "consent_withdrawn")
    assert _status(world, held["id"]) == ("cancelled", "consent_withdrawn")
    assert _status(world, internal["id"]) == ("sent", None)
    assert _status(world, done["id"]) == ("completed", "ownership_moved")
    event = world.events(sent["id"], world.ngo)[-1]
    assert (event["to_status"], event["actor"], event["reason_code"]) == (
        "cancelled",
        "system:hub",
        "consent_withdrawn",
    )

    # a duplicate message changes nothing
    payload = {"consent_id": consent["id"], "case_id": case_id}
    with world.runtime.sessions() as db:
        payload["series_id"] = db.scalar(
            select(Consent.series_id).where(Consent.id == consent["id"])
        )
    _run_again(world, WITHDRAWN_TOPIC, payload)
    assert len(world.events(sent["id"], world.sender)) == 2
    # the review of the cancelled transfer was closed with it: deciding it late is refused
    late = world.api.post(
        f"/v1/reviews/{held['review_id']}/approve",
        json={"justification": "checked with the case worker"},
        headers=world.officer.headers,
    )
    assert late.status_code == 409, late.text
    assert (late.json()["code"], late.json()["review_status"]) == ("review_decided", "withdrawn")
    assert _status(world, held["id"]) == ("cancelled", "consent_withdrawn")
