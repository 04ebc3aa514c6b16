"""The parties' moves: the recipient accepts or rejects (with a reason), the sender cancels
(with a reason); the other party is refused (409), an organisation that is no party gets 404,
an illegal move is 409, a missing reason 422."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.consent.models import GateDecision
from tests.support.transfer_world import World


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def test_the_recipient_rejects_with_a_reason(world: World) -> None:
    transfer_id, case_id = world.sent()
    assert _code(world.act(transfer_id, "reject", world.sender, {"reason": "x"})) == (
        409,
        "invalid_transition",
    )
    assert _code(world.act(transfer_id, "reject", world.outsider, {"reason": "x"})) == (
        404,
        "not_found",
    )
    for body in ({}, {"reason": "   "}):
        assert _code(world.act(transfer_id, "reject", world.ngo, body)) == (422, "reason_required")
    response = world.act(transfer_id, "reject", world.ngo, {"reason": "no caseworker free"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["status_reason"]) == ("rejected", "rejected_by_recipient")
    assert body["allowed_actions"] == []
    assert "no caseworker free" not in response.text  # the reason is in the events only
    event = world.events(transfer_id, world.sender)[-1]
    assert (event["to_status"], event["text"]) == ("rejected", "no caseworker free")
    # closed: nothing more happens to it, and the case stays the sender's
    assert _code(world.act(transfer_id, "accept", world.ngo)) == (409, "invalid_transition")
    assert _code(world.act(transfer_id, "cancel", world.sender, {"reason": "x"})) == (
        409,
        "invalid_transition",
    )
    assert world.api.get(f"/v1/cases/{case_id}", headers=world.sender.headers).status_code == 200
    with world.runtime.sessions() as db:
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "transfer.reject"))
        assert entry is not None and entry.details["reason_code"] == "rejected_by_recipient"
        assert "no caseworker free" not in str(entry.details)


def test_the_sender_cancels_with_a_reason(world: World) -> None:
    transfer_id, _ = world.sent()
    assert _code(world.act(transfer_id, "cancel", world.ngo, {"reason": "x"})) == (
        409,
        "invalid_transition",
    )
    assert _code(world.act(transfer_id, "cancel", world.outsider, {"reason": "x"})) == (
        404,
        "not_found",
    )
    assert _code(world.act(transfer_id, "cancel", world.sender, {})) == (422, "reason_required")
    response = world.act(transfer_id, "cancel", world.sender, {"reason": "she stays in Agadez"})
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["status_reason"]) == (
        "cancelled",
        "cancelled_by_sender",
    )
    assert _code(world.act(transfer_id, "accept", world.ngo)) == (409, "invalid_transition")
    # a transfer held for review can be cancelled too; its recipient never knew of it
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    held = world.propose(case_id).json()
    assert _code(world.act(held["id"], "accept", world.ngo)) == (404, "not_found")
    cancelled = world.act(held["id"], "cancel", world.sender, {"reason": "not needed"})
    assert cancelled.json()["status"] == "cancelled"
    assert world.get(held["id"], world.ngo).status_code == 404


def test_only_the_recipient_accepts(world: World) -> None:
    transfer_id, case_id = world.sent()
    assert _code(world.act(transfer_id, "accept", world.sender)) == (409, "invalid_transition")
    assert _code(world.act(transfer_id, "accept", world.outsider)) == (404, "not_found")
    # refused before the gate was even asked: the case is untouched
    with world.runtime.sessions() as db:
        query = select(GateDecision.id).where(GateDecision.context == "transfer_accept")
        assert db.scalars(query).all() == []
    assert world.api.get(f"/v1/cases/{case_id}", headers=world.sender.headers).status_code == 200
    assert world.act(transfer_id, "accept", world.ngo).status_code == 200
    # done: no second acceptance, no cancellation after the fact
    assert _code(world.act(transfer_id, "accept", world.ngo)) == (409, "invalid_transition")
    assert _code(world.act(transfer_id, "cancel", world.sender, {"reason": "x"})) == (
        409,
        "invalid_transition",
    )
    assert _code(world.act(transfer_id, "reject", world.ngo, {"reason": "x"})) == (
        409,
        "invalid_transition",
    )
