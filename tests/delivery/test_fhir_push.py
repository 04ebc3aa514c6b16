"""Referrals pushed to a partner's FHIR server (served on 127.0.0.1 by the test), and the
partner's Task status read back onto the referral's lifecycle."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from hub.delivery import polling
from hub.delivery.models import Delivery
from hub.disclosures.models import Disclosure
from tests.support.api import Partner
from tests.support.fhir_server import FhirServer
from tests.support.outbox_drain import drain
from tests.support.referral_world import CANARY_NAME, World

TOKEN = "partner-fhir-bearer-token-0001"


def _fhir_channel(world: World, admin: Partner, server: FhirServer) -> None:
    response = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "fhir", "url": server.base_url, "secret": TOKEN},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "fhir" and TOKEN not in response.text


def _pushed(world: World, admin: Partner, server: FhirServer) -> tuple[str, Delivery]:
    _fhir_channel(world, admin, server)
    referral_id = world.sent()
    assert drain(world.runtime) == ["referral.deliver"]
    with world.runtime.sessions() as db:
        delivery = db.scalars(select(Delivery).where(Delivery.referral_id == referral_id)).one()
    return referral_id, delivery


def _resources(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        found.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return found


def _history(world: World, referral_id: str) -> list[str]:
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    return [e["to_status"] for e in events.json()["items"]]


def test_a_referral_is_pushed_as_a_transaction_bundle(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, delivery = _pushed(world, admin, fhir_server)
    [bundle] = fhir_server.bundles
    assert fhir_server.invalid == []
    assert fhir_server.authorization == [f"Bearer {TOKEN}"]
    assert bundle["type"] == "transaction"
    resources = _resources(bundle)
    assert {"Patient", "ServiceRequest", "Task", "Consent", "Organization"} <= set(resources)
    [task] = resources["Task"]
    assert task["status"] == "requested"
    assert [i["value"] for i in task["identifier"]] == [delivery.id]
    assert [p["identifier"]["value"] for p in task["partOf"]] == [referral_id]
    [patient] = resources["Patient"]
    assert patient["name"][0]["given"] == [CANARY_NAME]
    text = json.dumps(bundle)
    assert "irregular" not in text and "asthma" not in text  # withheld / never asked for

    assert (delivery.status, delivery.channel) == ("delivered", "fhir")
    assert delivery.remote_ref is not None and delivery.remote_ref.startswith("Task/")
    assert delivery.remote_ref.removeprefix("Task/") in fhir_server.tasks
    assert world.get(referral_id, world.sender).json()["status"] == "delivered"
    with world.runtime.sessions() as db:
        [disclosure] = db.scalars(select(Disclosure).where(Disclosure.referral_id == referral_id))
    assert disclosure.channel == "fhir"


def test_the_partners_task_status_moves_the_referral(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, delivery = _pushed(world, admin, fhir_server)
    task_id = str(delivery.remote_ref).removeprefix("Task/")
    assert polling.poll_due(world.runtime) == 0  # still `requested`: nothing to do

    fhir_server.set_task_status(task_id, "received")
    assert polling.poll_due(world.runtime) == 1
    assert world.get(referral_id, world.sender).json()["status"] == "acknowledged"

    # several steps at once: the recipient's moves in between are made in order
    fhir_server.set_task_status(task_id, "completed", reason="Sessions held")
    polling.poll_due(world.runtime)
    assert _history(world, referral_id) == [
        "sent",
        "delivered",
        "acknowledged",
        "accepted",
        "in_progress",
        "completed",
    ]
    with world.runtime.sessions() as db:
        again = db.get_one(Delivery, delivery.id)
    assert (again.remote_status, again.polled_at is not None) == ("completed", True)
    # a closed referral is not read again
    assert polling.due(world.runtime) == []


def test_a_rejected_task_declines_the_referral_with_its_reason(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, delivery = _pushed(world, admin, fhir_server)
    fhir_server.set_task_status(str(delivery.remote_ref).removeprefix("Task/"), "rejected")
    polling.poll_due(world.runtime)
    referral = world.get(referral_id, world.sender).json()
    assert (referral["status"], referral["status_reason"]) == ("declined", "declined_by_recipient")


def test_a_partner_that_cannot_be_read_is_left_for_the_next_pass(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, delivery = _pushed(world, admin, fhir_server)
    fhir_server.set_task_status(str(delivery.remote_ref).removeprefix("Task/"), "accepted")
    fhir_server.down()
    assert polling.poll_due(world.runtime) == 0
    assert world.get(referral_id, world.sender).json()["status"] == "delivered"
    fhir_server.up()
    assert polling.poll_due(world.runtime) == 1
    assert world.get(referral_id, world.sender).json()["status"] == "accepted"
