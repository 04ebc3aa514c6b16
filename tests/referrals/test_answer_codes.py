"""The recipient's coded answers: a decline reason and an outcome from the policy's
vocabularies, words beside them or not, an unknown code refused (422 `unknown_value`) with
nothing moved, and the old bodies (words only) still taken."""

from __future__ import annotations

from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.referrals.models import Referral
from tests.support.referral_world import World


def _acknowledged(world: World) -> str:
    referral_id = world.sent()
    assert world.act(referral_id, "acknowledge", world.recipient).status_code == 200
    return referral_id


def _started(world: World) -> str:
    referral_id = _acknowledged(world)
    for step in ("accept", "start"):
        assert world.act(referral_id, step, world.recipient).status_code == 200
    return referral_id


def test_a_decline_gives_its_coded_reason_and_words(world: World) -> None:
    referral_id = _acknowledged(world)
    body = {"reason_code": "no_capacity", "reason": "no place before March"}
    response = world.act(referral_id, "decline", world.recipient, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["status"], answer["status_reason"]) == ("declined", "declined_by_recipient")
    assert (answer["decline_reason_code"], answer["outcome_code"]) == ("no_capacity", None)
    # the sender reads the code and the words
    read = world.api.get(f"/v1/referrals/{referral_id}", headers=world.sender.headers).json()
    assert read["decline_reason_code"] == "no_capacity"
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert events.json()["items"][-1]["text"] == "no place before March"
    with world.runtime.sessions() as db:
        entry = db.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == referral_id, AuditEntry.action == "referral.decline"
            )
        ).one()
        assert entry.details["answer_code"] == "no_capacity"


def test_a_code_alone_is_enough_and_words_alone_still_are(world: World) -> None:
    coded = _acknowledged(world)
    response = world.act(coded, "decline", world.recipient, {"reason_code": "not_eligible"})
    assert response.status_code == 200, response.text
    assert response.json()["decline_reason_code"] == "not_eligible"

    worded = _acknowledged(world)
    response = world.act(worded, "decline", world.recipient, {"reason": "out of our area"})
    assert response.status_code == 200, response.text
    assert response.json()["decline_reason_code"] is None

    started = _started(world)
    response = world.act(started, "complete", world.recipient, {"outcome": "six sessions"})
    assert (response.status_code, response.json()["outcome_code"]) == (200, None)


def test_neither_code_nor_words_is_reason_required(world: World) -> None:
    referral_id = _acknowledged(world)
    for body in ({}, {"reason": "   "}):
        response = world.act(referral_id, "decline", world.recipient, body)
        assert (response.status_code, response.json()["code"]) == (422, "reason_required")


def test_a_completion_gives_its_coded_outcome(world: World) -> None:
    referral_id = _started(world)
    body = {"outcome_code": "referred_on", "outcome": "sent on to the health centre"}
    response = world.act(referral_id, "complete", world.recipient, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["status"], answer["outcome_code"]) == ("completed", "referred_on")
    assert answer["decline_reason_code"] is None


def test_an_unknown_code_is_refused_and_nothing_moves(world: World) -> None:
    declining = _acknowledged(world)
    completing = _started(world)
    for referral_id, action, body, member in (
        (declining, "decline", {"reason_code": "too_busy", "reason": "x"}, "reason_code"),
        # an outcome is not a decline reason, and the other way round
        (declining, "decline", {"reason_code": "service_provided"}, "reason_code"),
        (completing, "complete", {"outcome_code": "no_capacity"}, "outcome_code"),
    ):
        response = world.act(referral_id, action, world.recipient, body)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert (problem["code"], problem["field"]) == ("unknown_value", member)
        assert body[member] not in problem.get("detail", "")  # not echoed
    with world.runtime.sessions() as db:
        statuses = {r.id: r.status for r in db.scalars(select(Referral))}
    assert (statuses[declining], statuses[completing]) == ("acknowledged", "in_progress")


def test_a_code_belongs_to_its_move(world: World) -> None:
    # cancel takes words only: a code is a field it does not know
    referral_id = world.sent()
    body = {"reason": "moved away", "reason_code": "other"}
    response = world.act(referral_id, "cancel", world.sender, body)
    assert response.status_code == 422, response.text
