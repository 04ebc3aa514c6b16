"""Closing a case asks about the transfer requests still waiting that name it, as about its open
referrals and transfers: one left out is 409 `case_has_open_requests`; `cancel` refuses one the
owner received (code `case_closed`, through the requests' own lifecycle: its event, its audit,
the requester's view) and withdraws one the owner made; `keep` leaves it waiting."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.audit.models import AuditEntry
from tests.support.transfer_world import World
from tests.transfers.test_requests import act, ask, get


def _close(world: World, case_id: str, who: Any, **requests: str) -> Any:
    body: dict[str, Any] = {"reason": "goals_met"}
    if requests:
        body["requests"] = requests
    return world.api.post(f"/v1/cases/{case_id}/close", json=body, headers=who.headers)


def _actions(world: World, object_id: str) -> list[str]:
    with world.runtime.sessions() as db:
        return list(
            db.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_id == object_id)
                .order_by(AuditEntry.seq)
            )
        )


def test_closing_refuses_or_keeps_the_requests_received_for_the_case(world: World) -> None:
    case_id = world.case("MRRM-NE-CLOSING")
    first = ask(world, case_ref="MRRM-NE-CLOSING").json()["id"]
    second = ask(world, who=world.country, case_ref="MRRM-NE-CLOSING").json()["id"]
    answered = ask(world, case_ref="MRRM-NE-CLOSING").json()["id"]
    assert act(world, answered, "withdraw", world.ngo).status_code == 200  # not waiting
    elsewhere = world.case("MRRM-NE-OTHER")
    other = ask(world, case_ref="MRRM-NE-OTHER").json()["id"]  # names another case

    refused = _close(world, case_id, world.sender)
    assert (refused.status_code, refused.json()["code"]) == (409, "case_has_open_requests")
    assert set(refused.json()["open_requests"]) == {first, second}
    partly = _close(world, case_id, world.sender, **{first: "cancel"})
    assert partly.json()["open_requests"] == [second]
    assert get(world, first, world.sender).json()["status"] == "requested"  # nothing moved

    closed = _close(world, case_id, world.sender, **{first: "cancel", second: "keep"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    seen = get(world, first, world.ngo).json()
    assert (seen["status"], seen["refusal_code"]) == ("refused", "case_closed")
    assert seen["answer_text"] is None  # the code says it, in the reader's language
    assert get(world, second, world.country).json()["status"] == "requested"
    assert get(world, other, world.sender).json()["status"] == "requested"
    assert "transfer_request.refuse" in _actions(world, first)
    with world.runtime.sessions() as db:
        entry = db.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == case_id, AuditEntry.action == "case.close_requests"
            )
        ).one()
    assert entry.details == {"cancelled": [first], "kept": [second]}
    assert elsewhere != case_id


def test_closing_withdraws_a_request_the_owner_made(world: World) -> None:
    # the NGO asked for the case, then got it by a transfer that did not answer its request
    case_id = world.case("MRRM-NE-ASKED")
    world.consent(case_id)
    asked = ask(world, case_ref="MRRM-NE-ASKED").json()["id"]
    offered = world.propose(case_id)
    assert offered.status_code == 201, offered.text
    accepted = world.act(offered.json()["id"], "accept", world.ngo)
    assert accepted.status_code == 200, accepted.text
    assert get(world, asked, world.ngo).json()["status"] == "requested"

    refused = _close(world, case_id, world.ngo)
    assert (refused.status_code, refused.json()["code"]) == (409, "case_has_open_requests")
    assert refused.json()["open_requests"] == [asked]
    closed = _close(world, case_id, world.ngo, **{asked: "cancel"})
    assert closed.status_code == 200, closed.text
    seen = get(world, asked, world.ngo).json()
    assert (seen["status"], seen["status_reason"]) == ("withdrawn", "withdrawn_by_requester")
    assert seen["answer_text"] == "The case was closed by the organisation that owns it."
    assert "transfer_request.withdraw" in _actions(world, asked)
