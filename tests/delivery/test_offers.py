"""Case transfers offered through the recipient's webhook: the plan and the minimal summary,
signed like referrals; the gate asked again for an external transfer; dead letters."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from sqlalchemy import select

from hub.connectors import signing
from hub.consent.models import GateDecision
from hub.delivery.models import Delivery
from hub.disclosures.models import Disclosure
from hub.legal_bases.models import PersonNotice
from hub.runtime import Runtime
from tests.delivery.test_webhook import attempt
from tests.support.api import Partner, client_for, officer_for, operator, person_of
from tests.support.outbox_drain import drain
from tests.support.transfer_world import (
    CANARY_CONTACT,
    CANARY_NAME,
    CANARY_PLAN,
    World,
    make_world,
    plan,
)
from tests.support.webhook_receiver import WebhookReceiver


def _world(runtime: Runtime, api: TestClient) -> tuple[World, Partner]:
    world = make_world(runtime, api)
    admin = operator(runtime, api)
    return world, admin


def _hook(world: World, admin: Partner, to: Partner, url: str) -> None:
    response = world.api.put(
        f"/v1/organizations/{to.organization_id}/channel",
        json={"kind": "webhook", "url": url},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


def _delivery(runtime: Runtime, transfer_id: str) -> Delivery:
    with runtime.sessions() as db:
        return db.scalars(select(Delivery).where(Delivery.transfer_id == transfer_id)).one()


def _disclosures(runtime: Runtime, transfer_id: str) -> list[Disclosure]:
    with runtime.sessions() as db:
        query = select(Disclosure).where(Disclosure.transfer_id == transfer_id)
        return list(db.scalars(query.order_by(Disclosure.at)))


def _jwks(world: World) -> dict[str, ECKey]:
    document = world.api.get("/.well-known/jwks.json").json()
    return {key["kid"]: ECKey.import_key(key) for key in document["keys"]}


def test_an_offer_carries_the_plan_and_the_summary_only(
    runtime: Runtime, api: TestClient, receiver: WebhookReceiver
) -> None:
    world, admin = _world(runtime, api)
    _hook(world, admin, world.ngo, receiver.url)
    transfer_id, case_id = world.sent()
    assert drain(runtime) == ["transfer.deliver"]

    [item] = receiver.snapshot()
    body: dict[str, Any] = json.loads(item.body)
    assert body["event"] == "transfer.offered"
    assert body["transfer"]["id"] == transfer_id
    assert body["transfer"]["within_hierarchy"] is False
    assert body["plan"]["reason"] == CANARY_PLAN
    assert body["plan"]["handover_contact"] == CANARY_CONTACT
    assert body["case"] == {
        "case_id": case_id,
        "external_ref": body["case"]["external_ref"],
        "age_band": "18-59",
        "sex": "female",
    }
    text = item.body.decode()
    # no name, no data, not even the names of the categories the case holds
    for absent in (CANARY_NAME, "+227 90", "asthma", "irregular", '"psychosocial"', '"identity"'):
        assert absent not in text, absent
    header = signing.verify_jws(item.headers["hub-signature-jws"], item.body, keys=_jwks(world))
    delivery = _delivery(runtime, transfer_id)
    assert header["hub_delivery_id"] == delivery.id == item.delivery_id
    assert (delivery.status, delivery.channel, delivery.referral_id) == (
        "delivered",
        "webhook",
        None,
    )
    # the push is accounted for; the case file itself is released only on acceptance
    [pushed] = _disclosures(runtime, transfer_id)
    assert (pushed.channel, pushed.categories) == ("webhook", [])
    assert world.get(transfer_id, world.sender).json()["status"] == "sent"
    listed = world.api.get(f"/v1/transfers/{transfer_id}/deliveries", headers=world.sender.headers)
    assert [d["id"] for d in listed.json()["items"]] == [delivery.id]

    accepted = world.act(transfer_id, "accept", world.ngo)
    assert accepted.status_code == 200, accepted.text
    channels = [d.channel for d in _disclosures(runtime, transfer_id)]
    assert channels == ["webhook", "transfer"]
    assert world.get(transfer_id, world.sender).json()["released_categories"] == [
        "contact",
        "identity",
        "psychosocial",
    ]


def test_within_the_hierarchy_the_offer_is_pushed_without_asking_the_gate(
    runtime: Runtime, api: TestClient, receiver: WebhookReceiver
) -> None:
    world, admin = _world(runtime, api)
    _hook(world, admin, world.country, receiver.url)
    transfer_id, _ = world.sent(to=world.country)
    drain(runtime)
    [item] = receiver.snapshot()
    assert json.loads(item.body)["transfer"]["within_hierarchy"] is True
    assert _delivery(runtime, transfer_id).status == "delivered"


def test_an_offer_on_a_legal_basis_is_pushed_after_two_officers_and_the_news_is_owed(
    runtime: Runtime, api: TestClient, receiver: WebhookReceiver
) -> None:
    world, admin = _world(runtime, api)
    _hook(world, admin, world.ngo, receiver.url)
    office = world.sender.organization_id
    worker = client_for(runtime, api, office, "transfers:write").acting_for(
        person_of(runtime, office, "case_worker")
    )
    body = {
        "case_id": world.case(),  # no consent
        "to_organization_id": world.ngo.organization_id,
        "plan": plan(),
        "legal_basis": "vital_interest",
        "basis_justification": "Threatened at the shelter tonight; the NGO can move her now.",
    }
    held = api.post("/v1/transfers", json=body, headers=worker.headers)
    assert held.status_code == 202, held.text
    transfer_id, review_id = held.json()["id"], held.json()["review_id"]
    for _ in range(2):
        approved = api.post(
            f"/v1/reviews/{review_id}/approve",
            json={"justification": "Life at risk."},
            headers=officer_for(runtime, api, office).headers,
        )
        assert approved.status_code == 200, approved.text
    drain(runtime)
    [item] = receiver.snapshot()
    assert json.loads(item.body)["plan"]["reason"] == CANARY_PLAN
    [pushed] = _disclosures(runtime, transfer_id)
    assert (pushed.channel, pushed.legal_basis, pushed.consent_ids) == (
        "webhook",
        "vital_interest",
        [],
    )
    with runtime.sessions() as db:
        notice = db.scalars(
            select(PersonNotice).where(PersonNotice.transfer_id == transfer_id)
        ).one()
        decision = db.get_one(GateDecision, pushed.decision_id)
    assert (notice.organization_id, notice.legal_basis) == (office, "vital_interest")
    assert (decision.context, decision.legal_basis) == ("delivery", "vital_interest")


def test_a_withdrawn_consent_stops_the_offer_and_cancels_the_transfer(
    runtime: Runtime, api: TestClient, receiver: WebhookReceiver
) -> None:
    world, admin = _world(runtime, api)
    _hook(world, admin, world.ngo, receiver.url)
    case_id = world.case()
    consent = world.consent(case_id)
    response = world.propose(case_id)
    assert response.status_code == 201, response.text
    transfer_id = response.json()["id"]
    world.withdraw(consent["id"])
    drain(runtime)
    assert receiver.snapshot() == []
    delivery = _delivery(runtime, transfer_id)
    assert (delivery.status, delivery.last_error) == ("stopped", "consent_withdrawn")
    transfer = world.get(transfer_id, world.sender).json()
    assert (transfer["status"], transfer["status_reason"]) == ("cancelled", "consent_withdrawn")
    assert _disclosures(runtime, transfer_id) == []


def test_an_undeliverable_offer_is_dead_and_the_sender_redelivers_it(
    runtime: Runtime, api: TestClient, receiver: WebhookReceiver
) -> None:
    world, admin = _world(runtime, api)
    _hook(world, admin, world.ngo, receiver.url)
    receiver.answer = 410
    transfer_id, _ = world.sent()
    assert attempt(runtime) == ["dead"]
    delivery = _delivery(runtime, transfer_id)
    assert (delivery.status, delivery.last_error) == ("dead", "PermanentError: http_error")
    # the offer stays open: the recipient can still read it through the API
    assert world.get(transfer_id, world.ngo).json()["status"] == "sent"

    path = f"/v1/transfers/{transfer_id}/redeliver"
    assert world.api.post(path, headers=world.ngo.headers).status_code == 404
    receiver.answer = 204
    redone = world.api.post(path, headers=world.sender.headers)
    assert redone.status_code == 202, redone.text
    assert attempt(runtime) == ["done"]
    assert _delivery(runtime, transfer_id).status == "delivered"
    assert receiver.counts() == {"received": 2, "unique": 1, "duplicates": 1}

    # an offer already taken cannot be redelivered
    world.act(transfer_id, "reject", world.ngo, {"reason": "no capacity"})
    with runtime.sessions.begin() as db:
        row = db.get_one(Delivery, delivery.id)
        row.status = "dead"
    refused = world.api.post(path, headers=world.sender.headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")
