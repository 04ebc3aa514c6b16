"""The parties' moves: each by the right party, refused to the other party (409) and to any
other organisation (404), illegal ones (409), reasons required (422), and the history."""

from __future__ import annotations

from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.lifecycle.models import LifecycleEvent
from tests.support.outbox_drain import drain
from tests.support.referral_world import World

RECIPIENT_MOVES = ["acknowledge", "accept", "decline", "start", "complete"]
BODIES = {
    "decline": {"reason": "no capacity in Agadez this month"},
    "complete": {"outcome": "six sessions attended"},
    "cancel": {"reason": "the person moved to Niamey"},
}
# from a referral just sent: the moves that lead to a status where `action` is legal
PATH_TO = {
    "acknowledge": [],
    "accept": ["acknowledge"],
    "decline": ["acknowledge"],
    "start": ["acknowledge", "accept"],
    "complete": ["acknowledge", "accept", "start"],
    "cancel": ["acknowledge", "accept", "start"],
}


def _at(world: World, action: str) -> str:
    referral_id = world.sent()
    for step in PATH_TO[action]:
        assert world.act(referral_id, step, world.recipient).status_code == 200
    return referral_id


def test_the_whole_path_and_its_history(world: World) -> None:
    referral_id = world.sent()
    drain(world.runtime)
    seen = []
    for action in ["acknowledge", "accept", "start", "complete"]:
        response = world.act(referral_id, action, world.recipient, BODIES.get(action))
        assert response.status_code == 200, response.text
        seen.append(response.json()["status"])
    assert seen == ["acknowledged", "accepted", "in_progress", "completed"]
    final = response.json()
    assert (final["fhir_status"], final["allowed_actions"]) == ("completed", [])

    for who in (world.sender, world.recipient):
        events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=who.headers)
        assert events.status_code == 200
        items = events.json()["items"]
        assert [(e["from_status"], e["to_status"]) for e in items] == [
            (None, "sent"),
            ("sent", "delivered"),
            ("delivered", "acknowledged"),
            ("acknowledged", "accepted"),
            ("accepted", "in_progress"),
            ("in_progress", "completed"),
        ]
        # the other party sees the sender's organisation, never its client id
        assert items[0]["actor"] == (
            f"client:{world.sender.client_id}"
            if who is world.sender
            else f"organization:{world.sender.organization_id}"
        )
        assert items[1]["actor"] == "system:hub"
        assert items[-1]["organization_id"] == world.recipient.organization_id
        assert items[-1]["text"] == BODIES["complete"]["outcome"]
    with world.runtime.sessions() as db:
        actions = db.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == referral_id)
        ).all()
        assert actions == [
            "referral.created",
            "referral.deliver",
            "referral.acknowledge",
            "referral.accept",
            "referral.start",
            "referral.complete",
        ]
        # the outcome is sealed at rest, and kept out of the audit log
        event = db.scalars(
            select(LifecycleEvent).where(
                LifecycleEvent.object_id == referral_id, LifecycleEvent.to_status == "completed"
            )
        ).one()
        assert event.text_ciphertext is not None
        assert b"sessions" not in event.text_ciphertext
    assert not any("sessions" in str(d) for d in _audit_details(world))


def _audit_details(world: World) -> list[dict]:
    with world.runtime.sessions() as db:
        return [e.details for e in db.scalars(select(AuditEntry))]


def test_recipient_moves(world: World) -> None:
    for action in RECIPIENT_MOVES:
        referral_id = _at(world, action)
        by_sender = world.act(referral_id, action, world.sender, BODIES.get(action))
        assert (by_sender.status_code, by_sender.json()["code"]) == (409, "invalid_transition")
        by_outsider = world.act(referral_id, action, world.outsider, BODIES.get(action))
        assert (by_outsider.status_code, by_outsider.json()["code"]) == (404, "not_found")
        ok = world.act(referral_id, action, world.recipient, BODIES.get(action))
        assert ok.status_code == 200, (action, ok.text)
        again = world.act(referral_id, action, world.recipient, BODIES.get(action))
        assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")


def test_the_sender_cancels(world: World) -> None:
    referral_id = _at(world, "cancel")
    by_recipient = world.act(referral_id, "cancel", world.recipient, BODIES["cancel"])
    assert (by_recipient.status_code, by_recipient.json()["code"]) == (409, "invalid_transition")
    by_outsider = world.act(referral_id, "cancel", world.outsider, BODIES["cancel"])
    assert by_outsider.status_code == 404
    ok = world.act(referral_id, "cancel", world.sender, BODIES["cancel"])
    assert ok.status_code == 200, ok.text
    assert (ok.json()["status"], ok.json()["status_reason"]) == (
        "cancelled",
        "cancelled_by_sender",
    )
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.recipient.headers)
    last = events.json()["items"][-1]
    assert (last["reason_code"], last["text"]) == (
        "cancelled_by_sender",
        BODIES["cancel"]["reason"],
    )
    # closed: nothing more for anyone
    assert (
        world.act(referral_id, "complete", world.recipient, BODIES["complete"]).status_code == 409
    )


def test_reasons_are_required(world: World) -> None:
    for action, body in [
        ("decline", {}),
        ("decline", {"reason": "   "}),
        ("complete", {}),
        ("cancel", {}),
        ("cancel", {"reason": ""}),
    ]:
        referral_id = _at(world, action)
        who = world.sender if action == "cancel" else world.recipient
        response = world.act(referral_id, action, who, body)
        assert (response.status_code, response.json()["code"]) == (422, "reason_required")


def test_illegal_moves(world: World) -> None:
    referral_id = world.sent()
    for action in ["accept", "start", "complete"]:
        response = world.act(referral_id, action, world.recipient, BODIES.get(action))
        assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
        assert response.json()["current_status"] == "sent"
    declined = world.act(referral_id, "decline", world.recipient, BODIES["decline"])
    assert declined.json()["status_reason"] == "declined_by_recipient"
    late_cancel = world.act(referral_id, "cancel", world.sender, BODIES["cancel"])
    assert late_cancel.status_code == 409


def test_a_held_referral_is_moved_only_by_its_sender(world: World) -> None:
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    held = world.refer(case_id, categories=["identity", "health"]).json()
    # the recipient cannot see it at all yet
    assert world.act(held["id"], "acknowledge", world.recipient).status_code == 404
    cancelled = world.act(held["id"], "cancel", world.sender, BODIES["cancel"])
    assert cancelled.json()["status"] == "cancelled"


def test_moves_are_idempotent_with_a_key(world: World) -> None:
    referral_id = world.sent()
    headers = world.recipient.headers | {"Idempotency-Key": "ack-1"}
    path = f"/v1/referrals/{referral_id}/acknowledge"
    first = world.api.post(path, json={}, headers=headers)
    again = world.api.post(path, json={}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    other = world.api.post(f"/v1/referrals/{referral_id}/accept", json={}, headers=headers)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert [e["to_status"] for e in events.json()["items"]] == ["sent", "acknowledged"]


def test_events_are_for_parties_only(world: World) -> None:
    referral_id = world.sent()
    response = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.outsider.headers)
    assert response.status_code == 404
