"""Notices pushed to webhooks: a consent withdrawn under a referral the recipient has, and the
acknowledgement deadlines (ids and codes only, signed like deliveries)."""

from __future__ import annotations

import json
from datetime import timedelta

from joserfc.jwk import ECKey

from hub.clock import clock
from hub.connectors import signing
from hub.outbox.service import get_handler
from hub.referrals import deadlines
from tests.delivery.test_webhook import attempt
from tests.support.api import Partner
from tests.support.outbox_drain import drain
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World
from tests.support.webhook_receiver import WebhookReceiver


def _hook(world: World, admin: Partner, who: Partner, url: str) -> None:
    response = world.api.put(
        f"/v1/organizations/{who.organization_id}/channel",
        json={"kind": "webhook", "url": url},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


def _events(receiver: WebhookReceiver) -> list[str]:
    return [json.loads(item.body)["event"] for item in receiver.snapshot()]


def _history(world: World, referral_id: str) -> list[str | None]:
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    return [e["reason_code"] for e in events.json()["items"]]


def test_the_recipient_is_told_of_a_withdrawal_once(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _hook(world, admin, world.recipient, receiver.url)
    case_id = world.case()
    consent = world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]
    drain(world.runtime)
    assert world.act(referral_id, "acknowledge", world.recipient).status_code == 200
    world.withdraw(consent["id"])
    drain(world.runtime)

    assert _events(receiver) == ["referral.sent", "referral.consent_withdrawn"]
    notice = receiver.snapshot()[1]
    body = json.loads(notice.body)
    assert body["referral"]["id"] == referral_id
    assert body["referral"]["status"] == "acknowledged"  # answered: the recipient's to close
    for absent in (CANARY_NAME, CANARY_NOTE, "psychosocial"):
        assert absent not in notice.body.decode()
    keys = {
        k["kid"]: ECKey.import_key(k)
        for k in world.api.get("/.well-known/jwks.json").json()["keys"]
    }
    header = signing.verify_jws(notice.headers["hub-signature-jws"], notice.body, keys=keys)
    assert header["hub_delivery_id"] == body["delivery_id"] == notice.delivery_id
    assert "hub-delivery-attempt" not in notice.headers
    assert "consent_withdrawn_notice" in _history(world, referral_id)

    # the same message again (a duplicate from the broker): no second push, no second event
    handler = get_handler("referral.withdrawal_notice")
    assert handler is not None
    with world.runtime.sessions.begin() as db:
        handler(db, world.runtime, {"referral_id": referral_id, "series_id": consent["series_id"]})
    assert _events(receiver) == ["referral.sent", "referral.consent_withdrawn"]
    assert _history(world, referral_id).count("consent_withdrawn_notice") == 1


def test_a_notice_the_partner_refuses_is_retried_and_recorded_only_once_delivered(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _hook(world, admin, world.recipient, receiver.url)
    case_id = world.case()
    consent = world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]
    drain(world.runtime)
    world.act(referral_id, "acknowledge", world.recipient)
    drain(world.runtime)  # the sender's notice of it (an inbox: nothing to push)
    world.withdraw(consent["id"])
    receiver.answer = 503
    assert attempt(world.runtime) == ["done"]  # the withdrawal cascade itself
    assert attempt(world.runtime) == ["retry"]  # its notice
    assert "consent_withdrawn_notice" not in _history(world, referral_id)
    receiver.answer = 204
    assert attempt(world.runtime) == ["done"]
    first, second = receiver.snapshot()[1:]
    assert first.delivery_id == second.delivery_id
    assert _history(world, referral_id).count("consent_withdrawn_notice") == 1


def test_deadline_notices_go_to_the_party_they_concern(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    with WebhookReceiver() as sender_hook:
        _hook(world, admin, world.recipient, receiver.url)
        _hook(world, admin, world.sender, sender_hook.url)
        referral_id = world.sent()  # normal: 72 h to acknowledge, reminded 24 h before
        drain(world.runtime)

        clock.advance(timedelta(hours=49))
        deadlines.run(world.runtime)
        drain(world.runtime)
        assert _events(receiver) == ["referral.sent", "referral.reminder"]
        assert _events(sender_hook) == []

        clock.advance(timedelta(hours=24))
        deadlines.run(world.runtime)
        drain(world.runtime)
        assert _events(sender_hook) == ["referral.overdue"]
        overdue = json.loads(sender_hook.snapshot()[0].body)
        assert overdue["referral"]["id"] == referral_id
        assert overdue["referral"]["status"] == "delivered"


def test_each_party_is_told_of_the_others_moves(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    with WebhookReceiver() as sender_hook:
        _hook(world, admin, world.recipient, receiver.url)
        _hook(world, admin, world.sender, sender_hook.url)
        referral_id = world.sent()
        drain(world.runtime)
        for action in ("acknowledge", "accept"):
            assert world.act(referral_id, action, world.recipient).status_code == 200
        drain(world.runtime)
        assert _events(sender_hook) == ["referral.acknowledged", "referral.accepted"]
        body = json.loads(sender_hook.snapshot()[-1].body)
        assert (body["referral"]["id"], body["referral"]["status"]) == (referral_id, "accepted")

        cancelled = world.act(referral_id, "cancel", world.sender, {"reason": CANARY_NOTE})
        assert cancelled.status_code == 200
        drain(world.runtime)
        assert _events(receiver) == ["referral.sent", "referral.cancelled"]
        notice = receiver.snapshot()[-1]
        assert json.loads(notice.body)["referral"]["status_reason"] == "cancelled_by_sender"
        assert CANARY_NOTE not in notice.body.decode()  # the reason's words stay in the hub
        # the mover itself is not told
        assert "referral.cancelled" not in _events(sender_hook)


def test_a_referral_cancelled_before_it_reached_the_recipient_tells_it_nothing(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _hook(world, admin, world.recipient, receiver.url)
    referral_id = world.sent()  # not delivered yet: the outbox has not run
    world.act(referral_id, "cancel", world.sender, {"reason": "sent by mistake"})
    drain(world.runtime)
    assert receiver.snapshot() == []
