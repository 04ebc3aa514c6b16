"""The sender's free text in a referral's events (a cancellation's reason) is its words about the
case: the recipient gets it only while the consent gate permits the referral, never after a
withdrawal, and each release is accounted for. The recipient's own words stay its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.consent.models import Consent
from hub.disclosures.models import Disclosure
from tests.support.api import Partner
from tests.support.referral_world import World

CANCEL = "Canary: Quillandra moved to her uncle's in Arlit"
DECLINE = "Canary: no capacity this month"


def _events(world: World, referral_id: str, who: Partner) -> list[dict[str, Any]]:
    response = world.api.get(f"/v1/referrals/{referral_id}/events", headers=who.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _texts(world: World, referral_id: str, who: Partner) -> list[str]:
    return [e["text"] for e in _events(world, referral_id, who) if e["text"]]


def _disclosures(world: World, referral_id: str) -> list[Disclosure]:
    with world.runtime.sessions() as db:
        query = select(Disclosure).where(Disclosure.referral_id == referral_id)
        return list(db.scalars(query.order_by(Disclosure.at)))


def _consent_of(world: World, referral_id: str) -> str:
    body = world.get(referral_id, world.sender).json()
    return str(body["consent_ids"][0])


def test_a_cancellation_reason_reaches_the_recipient_while_the_gate_permits(
    world: World,
) -> None:
    referral_id = world.sent()
    consent_id = _consent_of(world, referral_id)
    response = world.act(referral_id, "cancel", world.sender, {"reason": CANCEL})
    assert response.status_code == 200, response.text

    assert _texts(world, referral_id, world.recipient) == [CANCEL]
    [row] = _disclosures(world, referral_id)
    assert (row.channel, row.categories) == ("inbox", [])
    assert row.decision_id is not None and row.consent_ids == [consent_id]

    world.withdraw(consent_id)
    events = _events(world, referral_id, world.recipient)
    assert CANCEL not in str(events) and events[-1]["reason_code"] == "cancelled_by_sender"
    assert len(_disclosures(world, referral_id)) == 1
    # the sender keeps its own words
    assert _texts(world, referral_id, world.sender) == [CANCEL]


def test_an_expired_consent_withholds_the_words_too(world: World) -> None:
    referral_id = world.sent()
    world.act(referral_id, "cancel", world.sender, {"reason": CANCEL})
    with world.runtime.sessions.begin() as db:
        row = db.get_one(Consent, _consent_of(world, referral_id))
        row.valid_until = row.valid_from
    assert _texts(world, referral_id, world.recipient) == []
    assert _disclosures(world, referral_id) == []


def test_the_recipients_own_words_stay_and_disclose_nothing(world: World) -> None:
    referral_id = world.sent(urgency="normal")
    consent_id = _consent_of(world, referral_id)
    world.act(referral_id, "acknowledge", world.recipient)
    response = world.act(referral_id, "decline", world.recipient, {"reason": DECLINE})
    assert response.status_code == 200, response.text
    world.withdraw(consent_id)
    assert _texts(world, referral_id, world.recipient) == [DECLINE]
    assert _texts(world, referral_id, world.sender) == [DECLINE]
    assert _disclosures(world, referral_id) == []
