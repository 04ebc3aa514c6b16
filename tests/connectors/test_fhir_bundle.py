"""The FHIR transaction Bundle a delivery pushes, and what the hub reads back from a partner."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from hub.connectors.fhir_bundle import (
    CASE_SYSTEM,
    CONSENT_SYSTEM,
    DATA_CATEGORY_SYSTEM,
    DELIVERY_SYSTEM,
    FILLER_ORDER_SYSTEM,
    ORGANIZATION_SYSTEM,
    REFERRAL_SYSTEM,
    build_bundle,
)
from hub.connectors.fhir_task import (
    TaskState,
    parse_task,
    task_reference_from_response,
)
from hub.connectors.package import ConsentRef, DeliveryPackage, OrganizationRef, Subject
from tests.support.fhir_server import FhirServer

SENT_AT = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
MODELS = {
    "Patient": Patient,
    "Organization": Organization,
    "ServiceRequest": ServiceRequest,
    "Task": Task,
    "Consent": Consent,
}
# Data the case holds but this disclosure may not carry: none of it may reach the partner.
WITHHELD = {
    "health": {"condition": "CANARY-HEALTH-tuberculosis"},
    "gbv_incident": {"summary": "CANARY-GBV-incident"},
}


def make_package(**changes: Any) -> DeliveryPackage:
    package = DeliveryPackage(
        delivery_id="dlv-0001",
        attempt=1,
        referral_id="ref-0001",
        case_id="case-0001",
        sender=OrganizationRef(id="org-sender", name="IOM Niamey", kind="iom_office"),
        recipient=OrganizationRef(id="org-recipient", name="Clinique Espoir", kind="ngo"),
        service_type="psychosocial_support",
        purpose="psychosocial_support",
        urgency="high",
        status="sent",
        sent_at=SENT_AT,
        acknowledge_by=SENT_AT + timedelta(hours=24),
        categories=("contact", "identity", "psychosocial"),
        consents=(
            ConsentRef(
                id="cons-0001",
                given_by="subject",
                method="written",
                # the consent covers more than this disclosure carries
                purposes=("psychosocial_support", "gbv_response"),
                categories=("identity", "contact", "psychosocial", "health", "gbv_incident"),
                recorded_at=SENT_AT - timedelta(days=3),
            ),
        ),
        payload={
            "identity": {"given_name": "Aïcha", "family_name": "Moussa"},
            "contact": {"phone": "+227 90 00 00 01"},
            "psychosocial": {"needs": ["counselling"], "notes": "CANARY-PSY-visible"},
        },
        subject=Subject(birth_date="1990-05-17", sex="female"),
        note="Prefers morning appointments",
    )
    return dataclasses.replace(package, **changes)


def resources(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        found.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return found


def only(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    [resource] = resources(bundle)[kind]
    return resource


def test_bundle_is_a_valid_r4_transaction_with_every_resource_type() -> None:
    bundle = build_bundle(make_package())

    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "transaction"
    for entry in bundle["entry"]:
        MODELS[entry["resource"]["resourceType"]].model_validate(entry["resource"])
    counts = {kind: len(found) for kind, found in resources(bundle).items()}
    assert counts == {
        "Organization": 2,
        "Patient": 1,
        "Consent": 1,
        "ServiceRequest": 1,
        "Task": 1,
    }


def test_entries_are_conditional_creates_with_stable_names() -> None:
    bundle = build_bundle(make_package())

    conditions = {
        e["resource"]["resourceType"] + ":" + e["request"]["ifNoneExist"] for e in bundle["entry"]
    }
    assert conditions == {
        f"Organization:identifier={ORGANIZATION_SYSTEM}|org-sender",
        f"Organization:identifier={ORGANIZATION_SYSTEM}|org-recipient",
        f"Patient:identifier={CASE_SYSTEM}|case-0001",
        f"Consent:identifier={CONSENT_SYSTEM}|cons-0001",
        f"ServiceRequest:identifier={FILLER_ORDER_SYSTEM}|ref-0001",
        f"Task:identifier={DELIVERY_SYSTEM}|dlv-0001",
    }
    for entry in bundle["entry"]:
        assert entry["request"]["method"] == "POST"
        assert entry["request"]["url"] == entry["resource"]["resourceType"]
        assert entry["fullUrl"].startswith("urn:uuid:")
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(bundle["entry"])


def test_a_retried_delivery_sends_the_same_bytes() -> None:
    first = json.dumps(build_bundle(make_package()), sort_keys=False)
    again = json.dumps(build_bundle(make_package(attempt=4, status="delivered")))
    other = json.dumps(build_bundle(make_package(delivery_id="dlv-0002")))

    assert first == again
    assert first != other  # names come from the delivery id, not from a fixed table


def test_references_point_inside_the_bundle() -> None:
    bundle = build_bundle(make_package())
    url = {
        (e["resource"]["resourceType"], e["resource"]["identifier"][0]["value"]): e["fullUrl"]
        for e in bundle["entry"]
    }
    patient = url[("Patient", "case-0001")]
    sender = url[("Organization", "org-sender")]
    recipient = url[("Organization", "org-recipient")]
    service_request = url[("ServiceRequest", "ref-0001")]
    consent = url[("Consent", "cons-0001")]

    sr = only(bundle, "ServiceRequest")
    assert sr["subject"]["reference"] == patient
    assert sr["requester"]["reference"] == sender
    assert [p["reference"] for p in sr["performer"]] == [recipient]
    assert [s["reference"] for s in sr["supportingInfo"]] == [consent]

    task = only(bundle, "Task")
    assert task["focus"]["reference"] == service_request
    assert [b["reference"] for b in task["basedOn"]] == [service_request]
    assert task["for"]["reference"] == patient
    assert task["requester"]["reference"] == sender
    assert task["owner"]["reference"] == recipient

    cons = only(bundle, "Consent")
    assert cons["patient"]["reference"] == patient
    assert [a["reference"]["reference"] for a in cons["provision"]["actor"]] == [recipient]


def test_service_request_and_task_carry_the_referral() -> None:
    bundle = build_bundle(make_package())

    sr = only(bundle, "ServiceRequest")
    assert (sr["status"], sr["intent"], sr["priority"]) == ("active", "filler-order", "urgent")
    assert sr["code"]["coding"][0]["code"] == "psychosocial_support"
    assert sr["identifier"] == [{"system": FILLER_ORDER_SYSTEM, "value": "ref-0001"}]
    # the sender's request (the referral, on the hub), by identifier
    assert sr["basedOn"] == [
        {"type": "ServiceRequest", "identifier": {"system": REFERRAL_SYSTEM, "value": "ref-0001"}}
    ]
    assert sr["authoredOn"] == "2025-03-04T09:30:00Z"
    assert sr["note"] == [{"text": "Prefers morning appointments"}]

    task = only(bundle, "Task")
    assert (task["status"], task["intent"]) == ("requested", "order")
    assert "businessStatus" not in task
    assert task["authoredOn"] == "2025-03-04T09:30:00Z"
    assert task["restriction"]["period"]["end"] == "2025-03-05T09:30:00Z"
    assert task["identifier"] == [{"system": DELIVERY_SYSTEM, "value": "dlv-0001"}]
    # part of the sender's Task (the referral, on the hub), by identifier
    assert task["partOf"] == [
        {"type": "Task", "identifier": {"system": REFERRAL_SYSTEM, "value": "ref-0001"}}
    ]
    assert "statusReason" not in task  # requested: no reason to give
    [psychosocial] = task["input"]
    assert psychosocial["type"]["coding"] == [
        {"system": DATA_CATEGORY_SYSTEM, "code": "psychosocial"}
    ]
    assert json.loads(psychosocial["valueString"]) == make_package().payload["psychosocial"]


@pytest.mark.parametrize(
    ("urgency", "priority"), [("normal", "routine"), ("high", "urgent"), ("emergency", "stat")]
)
def test_priority_follows_urgency(urgency: str, priority: str) -> None:
    bundle = build_bundle(make_package(urgency=urgency))
    assert only(bundle, "ServiceRequest")["priority"] == priority


def test_unknown_urgency_is_refused() -> None:
    with pytest.raises(ValueError, match="urgency"):
        build_bundle(make_package(urgency="whenever"))


def test_no_note_no_deadline_no_consent_leave_their_fields_out() -> None:
    bundle = build_bundle(make_package(note=None, acknowledge_by=None, consents=()))

    sr = only(bundle, "ServiceRequest")
    assert "note" not in sr
    assert "supportingInfo" not in sr
    assert "restriction" not in only(bundle, "Task")
    assert "Consent" not in resources(bundle)


def test_patient_carries_permitted_identity_and_contact_only() -> None:
    patient = only(build_bundle(make_package()), "Patient")

    assert patient == {
        "resourceType": "Patient",
        "identifier": [{"system": CASE_SYSTEM, "value": "case-0001"}],
        "name": [{"family": "Moussa", "given": ["Aïcha"]}],
        "telecom": [{"system": "phone", "value": "+227 90 00 00 01"}],
        "birthDate": "1990-05-17",
        "gender": "female",
    }


def test_without_identity_the_patient_has_no_name_birth_date_or_gender() -> None:
    package = make_package(
        categories=("contact", "psychosocial"),
        payload={k: v for k, v in make_package().payload.items() if k != "identity"},
    )
    bundle = build_bundle(package)
    patient = only(bundle, "Patient")

    assert not {"name", "birthDate", "gender"} & patient.keys()
    assert patient["telecom"] == [{"system": "phone", "value": "+227 90 00 00 01"}]
    text = json.dumps(bundle, ensure_ascii=False)
    for canary in ("Aïcha", "Moussa", "1990-05-17", "female"):
        assert canary not in text


def test_without_contact_there_is_no_phone() -> None:
    package = make_package(categories=("identity", "psychosocial"))  # payload still has contact
    bundle = build_bundle(package)

    assert "telecom" not in only(bundle, "Patient")
    assert "+227" not in json.dumps(bundle)


def test_categories_not_permitted_appear_nowhere() -> None:
    # The case holds health and gbv_incident data and its consent covers them, but the gate
    # permitted neither for this recipient: even a payload that still carried them (a bug
    # upstream) must not leak them, nor may the consent's scope name them.
    package = make_package(payload={**make_package().payload, **WITHHELD})
    text = json.dumps(build_bundle(package), ensure_ascii=False)

    for canary in ("CANARY-HEALTH", "CANARY-GBV", "tuberculosis", "health", "gbv"):
        assert canary not in text
    assert "CANARY-PSY-visible" in text  # what is permitted does travel


def test_consent_is_narrowed_to_this_disclosure() -> None:
    consent = only(build_bundle(make_package()), "Consent")

    assert consent["status"] == "active"
    assert consent["scope"]["coding"][0]["code"] == "patient-privacy"
    assert consent["category"][0]["coding"][0]["code"] == "59284-0"
    assert consent["identifier"] == [{"system": CONSENT_SYSTEM, "value": "cons-0001"}]
    assert consent["dateTime"] == "2025-03-01T09:30:00Z"
    provision = consent["provision"]
    assert provision["type"] == "permit"
    assert [c["code"] for c in provision["purpose"]] == ["psychosocial_support"]
    assert [c["code"] for c in provision["class"]] == ["identity", "contact", "psychosocial"]
    assert provision["actor"][0]["role"]["coding"][0]["code"] == "IRCP"


def test_naive_times_are_taken_as_utc() -> None:
    naive = SENT_AT.replace(tzinfo=None)
    bundle = build_bundle(make_package(sent_at=naive, acknowledge_by=None))
    assert only(bundle, "Task")["authoredOn"] == "2025-03-04T09:30:00Z"


# --- a round trip through a partner's FHIR server ---


def test_round_trip_through_a_partner_server() -> None:
    bundle = build_bundle(make_package())

    with FhirServer() as partner:
        first = httpx.post(partner.base_url, json=bundle, headers={"Authorization": "Bearer t"})
        again = httpx.post(partner.base_url, json=bundle)  # a retried delivery

        assert first.status_code == again.status_code == 200
        assert partner.invalid == []
        reference = task_reference_from_response(first.json())
        assert reference is not None
        assert task_reference_from_response(again.json()) == reference
        assert len(partner.tasks) == 1
        assert partner.duplicates["Task"] == 1
        assert sum(partner.duplicates.values()) == len(bundle["entry"])
        assert partner.authorization == ["Bearer t", None]

        task_id = reference.removeprefix("Task/")
        stored = partner.tasks[task_id]
        # the partner resolved the Bundle's urn:uuid names into its own references
        assert stored["focus"]["reference"].startswith("ServiceRequest/")
        assert stored["owner"]["reference"].startswith("Organization/")

        partner.set_task_status(task_id, "rejected", reason="No capacity this month")
        read = httpx.get(f"{partner.base_url}/{reference}")
        assert read.status_code == 200
        assert parse_task(read.json()) == TaskState("rejected", "No capacity this month")

        assert httpx.get(f"{partner.base_url}/Task/999").status_code == 404


@pytest.mark.parametrize(
    "resource",
    [{"resourceType": "Task", "status": "requested"}, {}],  # no intent; no type at all
)
def test_partner_server_refuses_invalid_bundles_and_can_go_down(resource: dict[str, Any]) -> None:
    entry = {"resource": resource, "request": {"method": "POST", "url": "Task"}}
    broken = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}

    with FhirServer() as partner:
        refused = httpx.post(partner.base_url, json=broken)
        assert refused.status_code == 400
        assert refused.json()["resourceType"] == "OperationOutcome"
        assert partner.invalid == [broken]

        partner.down()
        assert httpx.post(partner.base_url, json=build_bundle(make_package())).status_code == 503
        assert partner.tasks == {}
        partner.up()
        assert httpx.post(partner.base_url, json=build_bundle(make_package())).status_code == 200
        assert len(partner.tasks) == 1
