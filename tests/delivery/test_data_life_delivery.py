"""Data life travels with every push: the erase-by date inside the signed webhook envelope (to a
partner served on 127.0.0.1), in the FHIR Bundle (the Consent's `provision.period.end`, the
Task's extension), in the accounting; and the reminder before it reaches the webhook too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import select

from hub.clock import clock, utcnow
from hub.connectors import signing
from hub.connectors.fhir_bundle import ERASE_BY_EXTENSION, build_bundle
from hub.connectors.package import ConsentRef, DeliveryPackage, OrganizationRef
from hub.delivery.models import Delivery
from hub.disclosures.models import Disclosure
from hub.referrals import data_life
from tests.support.api import Partner
from tests.support.fhir_server import FhirServer
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.referral_world import World
from tests.support.webhook_receiver import WebhookReceiver

SIX_WEEKS = {"unit": "day", "value": 42}


def _channel(world: World, admin: Partner, body: dict[str, Any]) -> None:
    response = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json=body,
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


def _sent(world: World, **consent: Any) -> str:
    case_id = world.case()
    world.consent(case_id, **consent)
    response = world.refer(case_id)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _jwks(world: World) -> dict[str, ECKey]:
    document = world.api.get("/.well-known/jwks.json").json()
    return {key["kid"]: ECKey.import_key(key) for key in document["keys"]}


def _disclosure(world: World, referral_id: str) -> Disclosure:
    with world.runtime.sessions() as db:
        return db.scalars(select(Disclosure).where(Disclosure.referral_id == referral_id)).one()


def test_erase_by_is_inside_the_signed_webhook_envelope(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _channel(world, admin, {"kind": "webhook", "url": receiver.url})
    referral_id = _sent(world, data_life=SIX_WEEKS)
    assert drain(world.runtime) == ["referral.deliver"]
    [item] = receiver.snapshot()
    body = json.loads(item.body)
    erase_by = datetime.fromisoformat(body["referral"]["erase_by"])
    with world.runtime.sessions() as db:
        delivery = db.scalars(select(Delivery).where(Delivery.referral_id == referral_id)).one()
    # counted from the delivery's start: every attempt carries the same date
    assert erase_by == delivery.created_at + timedelta(days=42)
    assert body["links"]["erasure_confirmation"].endswith(
        f"/v1/referrals/{referral_id}/erasure-confirmation"
    )
    # the signature covers it: the partner's check fails on a moved date
    signing.verify_jws(item.headers["hub-signature-jws"], item.body, keys=_jwks(world))
    later = (erase_by + timedelta(days=365)).isoformat()
    tampered = item.body.replace(body["referral"]["erase_by"].encode(), later.encode())
    assert tampered != item.body
    with pytest.raises(Exception, match=r"(?i)signature"):
        signing.verify_jws(item.headers["hub-signature-jws"], tampered, keys=_jwks(world))
    # what the recipient was told is what the accounting keeps
    assert _disclosure(world, referral_id).erase_by == erase_by


def test_the_reminder_before_erase_by_reaches_the_recipients_webhook(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _channel(world, admin, {"kind": "webhook", "url": receiver.url})
    referral_id = _sent(world, data_life=SIX_WEEKS)
    drain(world.runtime)
    erase_by = _disclosure(world, referral_id).erase_by
    assert erase_by is not None
    try:
        report = run_at(data_life.run, world.runtime, erase_by - timedelta(days=2))
        assert report.reminded == [referral_id]
        assert data_life.REMINDER_TOPIC in drain(world.runtime)
    finally:
        clock.reset()
    notice = [json.loads(i.body) for i in receiver.snapshot()][-1]
    assert notice["event"] == "referral.erase_reminder"
    assert notice["referral"]["id"] == referral_id
    assert datetime.fromisoformat(notice["data_life"]["erase_by"]) == erase_by
    assert "Zanibetta" not in json.dumps(notice)  # ids, codes and dates only


def test_the_fhir_push_carries_the_period(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    _channel(world, admin, {"kind": "fhir", "url": fhir_server.base_url, "secret": "t" * 32})
    referral_id = _sent(world, data_life=SIX_WEEKS)
    assert drain(world.runtime) == ["referral.deliver"]
    [bundle] = fhir_server.bundles
    assert fhir_server.invalid == []
    resources: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        resources.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    erase_by = _disclosure(world, referral_id).erase_by
    assert erase_by is not None
    end = erase_by.astimezone(UTC).isoformat().replace("+00:00", "Z")
    [consent] = resources["Consent"]
    assert consent["provision"]["period"] == {"end": end}
    [task] = resources["Task"]
    assert task["extension"] == [{"url": ERASE_BY_EXTENSION, "valueDateTime": end}]


def test_a_bundle_without_a_data_life_says_nothing_of_it() -> None:
    at = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    package = DeliveryPackage(
        delivery_id="dlv-1",
        attempt=1,
        referral_id="ref-1",
        case_id="case-1",
        sender=OrganizationRef(id="org-a", name="IOM Niamey", kind="iom_office"),
        recipient=OrganizationRef(id="org-b", name="Clinique", kind="ngo"),
        service_type="psychosocial_support",
        purpose="psychosocial_support",
        urgency="normal",
        status="sent",
        sent_at=at,
        acknowledge_by=None,
        categories=("psychosocial",),
        consents=(
            ConsentRef(
                id="c-1",
                given_by="subject",
                method="written",
                purposes=("psychosocial_support",),
                categories=("psychosocial",),
                recorded_at=at,
            ),
        ),
        payload={"psychosocial": {"notes": "x"}},
    )
    plain = build_bundle(package)
    text = json.dumps(plain)
    assert ERASE_BY_EXTENSION not in text and '"period"' not in text.split('"Task"')[0]
    dated = build_bundle(DeliveryPackage(**{**package.__dict__, "erase_by": utcnow()}))
    assert ERASE_BY_EXTENSION in json.dumps(dated)
