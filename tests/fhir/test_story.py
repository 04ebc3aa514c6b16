"""A referral's whole life through the FHIR facade, driven by fhirpy (sync and async) as
SMART backend services (private_key_jwt): made by the sender, found and answered by the
recipient, its Patient read through the consent gate, cancelled and seen cancelled; another
organisation finds none of it. Every resource the facade returns validates with R4B."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from fhirpy.base.exceptions import ForbiddenError, OperationOutcome, ResourceNotFound

from tests.fhir.conftest import PURPOSE, FhirWorld
from tests.fhir.smart import valid
from tests.support.consents import consent_body

CANARY_NAME = "Zanibetta Orloque"
# a contact the consent does not cover: withheld, so it must appear nowhere
CANARY_PHONE = "+227 91 77 CANARY"
CASE_SYSTEM = "urn:referral-hub:case"
CASE_REFERENCE_SYSTEM = "urn:referral-hub:case-reference"


def _case(world: FhirWorld, *, consent: bool = True) -> tuple[str, str]:
    """A case of the sender with a consent covering identity and psychosocial data (not
    contact); returns its id and its reference."""
    http, headers = world.live.http, world.sender.headers()
    reference = f"MRRM-NE-{uuid.uuid4().hex[:8]}"
    body = {
        "external_ref": reference,
        "subject": {"birth_date": "1990-04-02", "sex": "female"},
        "data": {
            "identity": {"given_name": CANARY_NAME, "family_name": "Moussa"},
            "contact": {"phone": CANARY_PHONE},
            "psychosocial": {"notes": "sleep problems"},
        },
    }
    made = http.post(world.live.url("/v1/cases"), json=body, headers=headers)
    assert made.status_code == 201, made.text
    case_id = str(made.json()["id"])
    if consent:
        given = http.post(
            world.live.url(f"/v1/cases/{case_id}/consents"),
            json=consent_body(categories=["identity", "psychosocial"]),
            headers=headers,
        )
        assert given.status_code == 201, given.text
    return case_id, reference


def _service_request(world: FhirWorld, subject: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "code": {"coding": [{"system": "urn:referral-hub:service-type", "code": PURPOSE}]},
        "reasonCode": [{"coding": [{"system": "urn:referral-hub:purpose", "code": PURPOSE}]}],
        "orderDetail": [
            {"coding": [{"system": "urn:referral-hub:data-category", "code": c}]}
            for c in ("identity", "contact", "psychosocial")
        ],
        "subject": {"reference": subject},
        "performer": [{"reference": f"Organization/{world.recipient.organization_id}"}],
    }


def _bundle(world: FhirWorld, reference: str) -> dict[str, Any]:
    patient, request = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": CASE_REFERENCE_SYSTEM, "value": reference}],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": request,
                "resource": _service_request(world, patient),
                "request": {"method": "POST", "url": "ServiceRequest"},
            },
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "Task",
                    "status": "requested",
                    "intent": "order",
                    "focus": {"reference": request},
                    "for": {"reference": patient},
                    "owner": {"reference": f"Organization/{world.recipient.organization_id}"},
                },
                "request": {"method": "POST", "url": "Task"},
            },
        ],
    }


def _disclosures(world: FhirWorld, case_id: str) -> list[dict[str, Any]]:
    response = world.live.http.get(
        world.live.url(f"/v1/cases/{case_id}/disclosures"), headers=world.sender.headers()
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_metadata_needs_no_token_and_says_what_is_served(fhir_world: FhirWorld) -> None:
    response = fhir_world.live.http.get(fhir_world.live.url("/fhir/R4/metadata"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    statement = valid(response.json())
    rest = statement["rest"][0]
    oauth = {e["url"]: e["valueUri"] for e in rest["security"]["extension"][0]["extension"]}
    assert oauth == {
        "token": fhir_world.live.token_url,
        "introspect": fhir_world.live.url("/oauth/introspect"),
        "revoke": fhir_world.live.url("/oauth/revoke"),
    }
    served = {r["type"]: {i["code"] for i in r["interaction"]} for r in rest["resource"]}
    assert served["Task"] == {"read", "search-type", "create", "update"}
    assert served["Patient"] == {"read"}
    assert served["ServiceRequest"] == {"read", "search-type"}
    assert "DocumentReference" not in served
    resources = {r["type"]: r for r in rest["resource"]}
    assert {p["name"] for p in resources["ServiceRequest"]["searchParam"]} == {
        "performer",
        "requester",
        "status",
        "_lastUpdated",
        "_id",
    }
    conditional = {t for t, r in resources.items() if r.get("conditionalCreate")}
    assert conditional == {"Task", "ServiceRequest"}


def test_a_referral_through_fhir_from_sender_to_recipient_and_back(fhir_world: FhirWorld) -> None:
    world = fhir_world
    sender, recipient = world.sender.fhir(), world.recipient.fhir()
    case_id, reference = _case(world)

    # the sender makes the referral by a transaction Bundle
    answer = valid(sender.execute("", method="post", data=_bundle(world, reference)))
    assert answer["type"] == "transaction-response"
    task_location = answer["entry"][2]["response"]["location"]
    referral_id = task_location.removeprefix("Task/")
    assert answer["entry"][2]["resource"]["status"] == "requested"

    # the recipient finds it among its Tasks, by owner, status and _lastUpdated
    found = (
        recipient.resources("Task")
        .search(owner=f"Organization/{world.recipient.organization_id}", status="requested")
        .search(_lastUpdated="ge2020-01-01T00:00:00Z")
        .fetch_all()
    )
    assert [t.id for t in found] == [referral_id]
    task = found[0]
    valid(task.serialize())
    assert task["for"]["reference"] == f"Patient/{case_id}"

    # the Patient, through the gate: identity only (the consent leaves contact out)
    before = len(_disclosures(world, case_id))
    patient = recipient.reference("Patient", case_id).to_resource()
    text = json.dumps(valid(patient.serialize()))
    assert CANARY_NAME in text
    assert CANARY_PHONE not in text and "CANARY" not in text
    after = _disclosures(world, case_id)
    assert len(after) == before + 1
    assert after[-1]["channel"] == "fhir" and after[-1]["categories"] == ["identity"]

    # the recipient walks the Task through its statuses
    for status in ("received", "accepted", "in-progress"):
        task["status"] = status
        task.save()
        assert task["status"] == status
    task["status"] = "completed"
    task["output"] = [
        {
            "type": {"coding": [{"system": "urn:referral-hub:task-output", "code": "outcome"}]},
            "valueCodeableConcept": {
                "coding": [{"system": "urn:referral-hub:outcome", "code": "service_provided"}]
            },
        }
    ]
    task.save()
    # an illegal move is a 409 OperationOutcome
    task["status"] = "accepted"
    with pytest.raises(OperationOutcome) as refused:
        task.save()
    assert "invalid_transition" in str(refused.value)

    # the sender's Task and the /v1 referral say the same
    seen = sender.reference("Task", referral_id).to_resource()
    assert valid(seen.serialize())["status"] == "completed"
    assert seen["output"][0]["valueCodeableConcept"]["coding"][0]["code"] == "service_provided"
    v1 = world.live.http.get(
        world.live.url(f"/v1/referrals/{referral_id}"), headers=world.sender.headers()
    ).json()
    assert (v1["status"], v1["outcome_code"]) == ("completed", "service_provided")
    valid(sender.reference("ServiceRequest", referral_id).to_resource().serialize())


def test_a_task_made_by_post_and_cancelled_by_the_sender(fhir_world: FhirWorld) -> None:
    world = fhir_world
    sender, recipient = world.sender.fhir(), world.recipient.fhir()
    case_id, _ = _case(world)
    request = {**_service_request(world, f"Patient/{case_id}"), "id": "sr"}
    task = sender.resource(
        "Task",
        status="requested",
        intent="order",
        contained=[request],
        focus={"reference": "#sr"},
        owner={"reference": f"Organization/{world.recipient.organization_id}"},
        **{"for": {"reference": f"Patient/{case_id}"}},
    )
    task.save()
    assert task.id and task["status"] == "requested"
    valid(task.serialize())

    task["status"] = "cancelled"
    task["statusReason"] = {"text": "The family moved away."}
    task.save()
    theirs = recipient.reference("Task", task.id).to_resource()
    assert valid(theirs.serialize())["status"] == "cancelled"
    assert theirs["statusReason"]["coding"][0]["code"] == "cancelled_by_sender"
    # the words are the sender's, about the person: not in the Task
    assert "family" not in json.dumps(theirs.serialize())
    # a cancelled referral's Patient is no longer released
    with pytest.raises(ResourceNotFound):
        recipient.reference("Patient", case_id).to_resource()


def test_a_refusal_by_the_gate_names_consent_denied(fhir_world: FhirWorld) -> None:
    world = fhir_world
    _, reference = _case(world, consent=False)
    response = world.live.http.post(
        world.live.url("/fhir/R4"),
        json=_bundle(world, reference),
        headers={**world.sender.headers(), "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 422
    outcome = valid(response.json())
    codes = [c["code"] for c in outcome["issue"][0]["details"]["coding"]]
    assert codes[0] == "consent_denied" and len(codes) > 1
    assert reference not in response.text


def test_another_organisation_finds_nothing(fhir_world: FhirWorld) -> None:
    world = fhir_world
    case_id, reference = _case(world)
    answer = world.sender.fhir().execute("", method="post", data=_bundle(world, reference))
    referral_id = answer["entry"][2]["response"]["location"].removeprefix("Task/")
    consent_id = world.recipient.fhir().reference("Task", referral_id).to_resource()["id"]
    assert consent_id
    outsider = world.outsider.fhir()
    for kind, ident in (
        ("Task", referral_id),
        ("ServiceRequest", referral_id),
        ("Patient", case_id),
    ):
        with pytest.raises(ResourceNotFound) as missing:
            outsider.reference(kind, ident).to_resource()
        assert "not-found" in str(missing.value)
    assert outsider.resources("Task").fetch_all() == []
    moved = world.live.http.put(
        world.live.url(f"/fhir/R4/Task/{referral_id}"),
        json={"resourceType": "Task", "id": referral_id, "status": "received", "intent": "order"},
        headers=world.outsider.headers(),
    )
    assert moved.status_code == 404
    assert valid(moved.json())["issue"][0]["code"] == "not-found"


def test_async_fhirpy_pages_through_tasks(fhir_world: FhirWorld) -> None:
    world = fhir_world
    sender = world.sender.fhir()
    made = set()
    for _ in range(3):
        _, reference = _case(world)
        answer = sender.execute("", method="post", data=_bundle(world, reference))
        made.add(answer["entry"][2]["response"]["location"].removeprefix("Task/"))

    async def fetch() -> list[Any]:
        client = world.recipient.fhir_async()
        return list(await client.resources("Task").search(_count=1).fetch_all())

    found = asyncio.run(fetch())
    assert {t.id for t in found} == made
    assert len(found) == 3


def test_the_hubs_cancellation_on_a_withdrawn_consent_is_a_cancelled_task(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    case_id, reference = _case(world)
    answer = world.sender.fhir().execute("", method="post", data=_bundle(world, reference))
    referral_id = answer["entry"][2]["response"]["location"].removeprefix("Task/")
    consent_id = answer["entry"][1]["resource"]["supportingInfo"][0]["reference"]
    http = world.live.http
    withdrawn = http.post(
        world.live.url(f"/v1/consents/{consent_id.removeprefix('Consent/')}/withdraw"),
        json={"method": "verbal"},
        headers=world.sender.headers(),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    recipient = world.recipient.fhir()
    # the Patient is no longer released (the referral is closed, or the gate says withdrawn)
    before = len(_disclosures(world, case_id))
    with pytest.raises((ResourceNotFound, ForbiddenError)):
        recipient.reference("Patient", case_id).to_resource()
    assert len(_disclosures(world, case_id)) == before
    task = valid(recipient.reference("Task", referral_id).to_resource().serialize())
    assert task["status"] == "cancelled"
    assert task["statusReason"]["coding"][0]["code"] == "consent_withdrawn"
    # and the Consent it relied on says so
    consent = valid(
        recipient.reference("Consent", consent_id.removeprefix("Consent/"))
        .to_resource()
        .serialize()
    )
    assert consent["status"] == "inactive"
