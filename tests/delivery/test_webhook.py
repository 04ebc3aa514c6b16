"""Referrals pushed to a partner's webhook served on 127.0.0.1: what arrives, signed how, and
what the hub records; retries, dead letters and redelivery (in-process; real workers are in
test_faults.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from joserfc import jwe
from joserfc.jwk import ECKey
from sqlalchemy import select

from hub.clock import utcnow
from hub.connectors import signing
from hub.connectors.http import OutboundClient
from hub.delivery import push
from hub.delivery.models import Delivery
from hub.disclosures import service as disclosures
from hub.disclosures.models import Disclosure
from hub.organizations.models import DataSharingAgreement
from hub.outbox import service as outbox
from hub.outbox.models import OutboxMessage
from hub.runtime import Runtime
from tests.support.api import Partner
from tests.support.outbox_drain import drain, pending
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World
from tests.support.webhook_receiver import WebhookReceiver

HMAC_KEY = "a-partner-hmac-key-of-32-bytes!!"


def _channel(world: World, admin: Partner, **body: Any) -> dict[str, Any]:
    response = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "webhook", **body},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _deliveries(runtime: Runtime, referral_id: str) -> list[Delivery]:
    with runtime.sessions() as db:
        return list(db.scalars(select(Delivery).where(Delivery.referral_id == referral_id)))


def _disclosures(runtime: Runtime, referral_id: str) -> list[Disclosure]:
    with runtime.sessions() as db:
        return list(db.scalars(select(Disclosure).where(Disclosure.referral_id == referral_id)))


def attempt(runtime: Runtime) -> list[str]:
    """One attempt of each due message, failures handled as the worker's task does (retry
    now, or dead after the last attempt); returns the outcomes."""
    outcomes = []
    for message in pending(runtime):
        claimed = outbox.claim(runtime, message.id)
        if claimed is None:
            continue
        try:
            outbox.execute(runtime, claimed)
            outcomes.append("done")
        except outbox.RetryableError as exc:
            error = outbox.error_summary(exc)
            if claimed.attempts >= runtime.settings.outbox_max_attempts:
                outbox.mark_dead(runtime, claimed, error=error)
                outcomes.append("dead")
            else:
                outbox.release_for_retry(runtime, claimed, error=error, delay=0, via_broker=False)
                outcomes.append("retry")
        except outbox.PermanentError as exc:
            outbox.mark_dead(runtime, claimed, error=outbox.error_summary(exc))
            outcomes.append("dead")
    return outcomes


def _jwks(world: World) -> dict[str, ECKey]:
    document = world.api.get("/.well-known/jwks.json").json()
    return {key["kid"]: ECKey.import_key(key) for key in document["keys"]}


def test_a_referral_arrives_signed_with_only_the_permitted_categories(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    channel = _channel(world, admin, url=receiver.url)
    assert (channel["signing"], channel["has_secret"]) == ("jws", False)
    referral_id = world.sent()  # asks for legal_status too, which the consent does not cover
    assert drain(world.runtime) == ["referral.deliver"]

    [item] = receiver.snapshot()
    body = json.loads(item.body)
    assert body["referral"]["id"] == referral_id
    assert sorted(body["payload"]) == ["contact", "identity", "psychosocial"]
    assert body["referral"]["categories"] == ["contact", "identity", "psychosocial"]
    assert "legal_status" not in item.body.decode() and "irregular" not in item.body.decode()
    assert "asthma" not in item.body.decode()  # health: on the case, never asked for
    assert body["payload"]["identity"]["given_name"] == CANARY_NAME
    assert body["note"] == CANARY_NOTE
    assert body["subject"] == {"birth_date": "1990-04-02", "sex": "female"}

    # the partner checks the detached JWS against the hub's published keys
    [delivery] = _deliveries(world.runtime, referral_id)
    header = signing.verify_jws(item.headers["hub-signature-jws"], item.body, keys=_jwks(world))
    assert header["hub_delivery_id"] == delivery.id == item.delivery_id
    assert header["hub_timestamp"] == int(item.headers["hub-timestamp"])
    assert item.headers["idempotency-key"] == delivery.id
    tampered = item.body.replace(b"psychosocial", b"psychosociaL")
    try:
        signing.verify_jws(item.headers["hub-signature-jws"], tampered, keys=_jwks(world))
    except Exception as exc:  # joserfc's BadSignatureError
        assert "signature" in type(exc).__name__.lower()
    else:
        raise AssertionError("a tampered body verified")

    assert world.get(referral_id, world.sender).json()["status"] == "delivered"
    assert (delivery.status, delivery.channel, delivery.attempts) == ("delivered", "webhook", 1)
    [disclosure] = _disclosures(world.runtime, referral_id)
    assert disclosure.channel == "webhook"
    assert disclosure.categories == ["contact", "identity", "psychosocial"]
    plain = json.dumps(body["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # keyed with the case's hash key, not the bare SHA-256 of what left
    assert disclosure.payload_sha256 != hashlib.sha256(plain.encode()).hexdigest()
    with world.runtime.sessions() as db:
        assert disclosure.payload_sha256 == disclosures.payload_digest(
            db=db,
            keyring=world.runtime.keyring,
            case_id=disclosure.case_id,
            payload=body["payload"],
        )
    report = world.api.get(
        f"/v1/cases/{disclosure.case_id}/disclosures", headers=world.sender.headers
    ).json()
    assert [d["channel"] for d in report["items"]] == ["webhook"]


def test_hmac_signature_with_the_partners_secret(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    channel = _channel(world, admin, url=receiver.url, secret=HMAC_KEY)
    assert (channel["signing"], channel["has_secret"]) == ("hmac", True)
    assert HMAC_KEY not in json.dumps(channel)
    world.sent()
    drain(world.runtime)
    [item] = receiver.snapshot()
    header = item.headers["hub-signature"]
    assert "hub-signature-jws" not in item.headers
    timestamp = item.headers["hub-timestamp"]
    expected = hmac.new(
        HMAC_KEY.encode(),
        f"{timestamp}.{item.delivery_id}.".encode() + item.body,
        hashlib.sha256,
    ).hexdigest()
    assert header == f"t={timestamp},v1={expected}"
    assert signing.verify_hmac(
        header, item.body, secret=HMAC_KEY.encode(), delivery_id=item.delivery_id
    )
    assert not signing.verify_hmac(
        header, item.body + b" ", secret=HMAC_KEY.encode(), delivery_id=item.delivery_id
    )


def test_the_body_can_be_encrypted_to_the_recipients_key(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    recipient_key = ECKey.generate_key("P-256", private=True)
    public = {**recipient_key.as_dict(private=False), "kid": "partner-enc-1", "use": "enc"}
    channel = _channel(world, admin, url=receiver.url, encryption_jwk=public)
    assert channel["encryption"] == {"alg": "ECDH-ES", "enc": "A256GCM", "kid": "partner-enc-1"}
    referral_id = world.sent()
    drain(world.runtime)
    [item] = receiver.snapshot()
    assert item.headers["content-type"] == "application/jose"
    assert CANARY_NAME.encode() not in item.body
    # signed as sent (the JWE), then opened with the partner's private key
    signing.verify_jws(item.headers["hub-signature-jws"], item.body, keys=_jwks(world))
    opened = jwe.decrypt_compact(item.body, recipient_key, registry=signing.JWE_REGISTRY)
    assert opened.protected["hub_delivery_id"] == item.delivery_id
    assert json.loads(opened.plaintext)["referral"]["id"] == referral_id
    assert json.loads(opened.plaintext)["payload"]["identity"]["given_name"] == CANARY_NAME


def test_a_private_key_is_refused_as_an_encryption_key(world: World, admin: Partner) -> None:
    key = ECKey.generate_key("P-256", private=True).as_dict(private=True)
    response = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "webhook", "url": "http://127.0.0.1:9/x", "encryption_jwk": key},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_channel"
    assert key["d"] not in response.text


def test_a_partner_that_fails_is_retried_under_the_same_delivery_id(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _channel(world, admin, url=receiver.url)
    receiver.answer = 503
    referral_id = world.sent()
    assert attempt(world.runtime) == ["retry"]
    [delivery] = _deliveries(world.runtime, referral_id)
    assert (delivery.status, delivery.last_error, delivery.attempts) == ("pending", "http_error", 1)
    assert world.get(referral_id, world.sender).json()["status"] == "sent"
    assert _disclosures(world.runtime, referral_id) == []  # a refused push disclosed nothing

    receiver.answer = 200
    assert attempt(world.runtime) == ["done"]
    first, second = receiver.snapshot()
    assert first.delivery_id == second.delivery_id == delivery.id
    assert (first.headers["hub-delivery-attempt"], second.headers["hub-delivery-attempt"]) == (
        "1",
        "2",
    )
    assert first.body == second.body  # byte-identical: partners may deduplicate on it too
    assert world.get(referral_id, world.sender).json()["status"] == "delivered"
    assert len(_disclosures(world.runtime, referral_id)) == 1


def test_out_of_attempts_the_delivery_is_dead_and_the_sender_can_redeliver(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _channel(world, admin, url=receiver.url)
    receiver.down()  # connections refused
    referral_id = world.sent()
    outcomes = []
    for _ in range(world.runtime.settings.outbox_max_attempts):
        outcomes += attempt(world.runtime)
    assert outcomes[-1] == "dead" and set(outcomes[:-1]) == {"retry"}
    [delivery] = _deliveries(world.runtime, referral_id)
    assert (delivery.status, delivery.last_error) == ("dead", "RetryableError: connect_failed")
    referral = world.get(referral_id, world.sender).json()
    assert (referral["status"], referral["status_reason"]) == ("failed", "undeliverable")

    # administrators see the dead letters; partners do not have that view
    dead = world.api.get("/v1/deliveries", params={"status": "dead"}, headers=admin.headers)
    assert [d["id"] for d in dead.json()["items"]] == [delivery.id]
    assert world.api.get("/v1/deliveries", headers=world.sender.headers).status_code == 403
    # the recipient cannot redeliver, the outsider does not see the referral at all
    path = f"/v1/referrals/{referral_id}/redeliver"
    assert world.api.post(path, headers=world.recipient.headers).status_code == 404
    assert world.api.post(path, headers=world.outsider.headers).status_code == 404

    receiver.up()
    redone = world.api.post(path, headers=world.sender.headers)
    assert redone.status_code == 202, redone.text
    assert (redone.json()["id"], redone.json()["status"]) == (delivery.id, "pending")
    assert world.get(referral_id, world.sender).json()["status"] == "sent"
    assert world.api.post(path, headers=world.sender.headers).json()["code"] == "not_dead"
    assert attempt(world.runtime) == ["done"]
    assert receiver.ids() == {delivery.id}
    assert world.get(referral_id, world.sender).json()["status"] == "delivered"
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert [e["to_status"] for e in events.json()["items"]] == [
        "sent",
        "failed",
        "sent",
        "delivered",
    ]


def test_a_partner_refusal_is_dead_at_once_and_an_administrator_redelivers(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _channel(world, admin, url=receiver.url)
    receiver.answer = 404
    referral_id = world.sent()
    assert attempt(world.runtime) == ["dead"]
    [delivery] = _deliveries(world.runtime, referral_id)
    assert (delivery.status, delivery.last_error) == ("dead", "PermanentError: http_error")
    receiver.answer = 204
    path = f"/v1/deliveries/{delivery.id}/redeliver"
    assert world.api.post(path, headers=world.sender.headers).status_code == 403
    assert world.api.post(path, headers=admin.headers).status_code == 202
    assert attempt(world.runtime) == ["done"]
    assert world.get(referral_id, world.sender).json()["status"] == "delivered"
    assert world.api.post(path, headers=admin.headers).status_code == 409


def test_a_consent_withdrawn_before_the_send_stops_it(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _channel(world, admin, url=receiver.url)
    case_id = world.case()
    consent = world.consent(case_id)
    response = world.refer(case_id)
    assert response.status_code == 201
    referral_id = response.json()["id"]
    # withdrawn before any worker ran: the delivery comes first in the outbox
    world.withdraw(consent["id"])
    deliver = pending(world.runtime, "referral.deliver")
    assert len(deliver) == 1
    with world.runtime.sessions() as db:
        first = db.get_one(OutboxMessage, deliver[0].id)
    claimed = outbox.claim(world.runtime, first.id)
    assert claimed is not None
    outbox.execute(world.runtime, claimed)

    assert receiver.snapshot() == []
    [delivery] = _deliveries(world.runtime, referral_id)
    assert (delivery.status, delivery.last_error) == ("stopped", "consent_withdrawn")
    referral = world.get(referral_id, world.sender).json()
    assert (referral["status"], referral["status_reason"]) == ("cancelled", "consent_withdrawn")
    assert _disclosures(world.runtime, referral_id) == []


def test_an_agreement_ended_before_the_send_blocks_it(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _channel(world, admin, url=receiver.url)
    referral_id = world.sent()
    with world.runtime.sessions.begin() as db:
        for agreement in db.scalars(select(DataSharingAgreement)):
            agreement.revoked_at = utcnow()
    drain(world.runtime)
    assert receiver.snapshot() == []
    referral = world.get(referral_id, world.sender).json()
    assert (referral["status"], referral["status_reason"]) == ("cancelled", "consent_denied")
    [delivery] = _deliveries(world.runtime, referral_id)
    assert (delivery.status, delivery.last_error) == ("stopped", "consent_denied")


def test_the_inbox_channel_pushes_nothing_and_discloses_on_read(world: World) -> None:
    referral_id = world.sent()
    drain(world.runtime)
    [delivery] = _deliveries(world.runtime, referral_id)
    assert (delivery.channel, delivery.status) == ("inbox", "delivered")
    assert _disclosures(world.runtime, referral_id) == []
    world.get(referral_id, world.recipient)
    assert [d.channel for d in _disclosures(world.runtime, referral_id)] == ["inbox"]


def test_a_partner_asking_to_wait_is_retried_no_sooner(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _channel(world, admin, url=receiver.url)
    receiver.answer, receiver.retry_after = 429, "90"
    referral_id = world.sent()
    [delivery] = _deliveries(world.runtime, referral_id)
    prepared = push.prepare(world.runtime, delivery.id)
    assert prepared is not None
    client = OutboundClient.from_settings(world.runtime.settings)
    with client, pytest.raises(outbox.RetryableError) as failed:
        push.send(world.runtime, prepared, client)
    assert (failed.value.reason, failed.value.retry_after) == ("http_error", 90.0)
