"""The facade's reads in process: Consent narrowed to the disclosure, the directory's searches,
and errors that never echo what was sent. (The Patient's read through the gate is checked with
the `/v1` reads: tests/api/test_recipient_reads.py.)"""

from __future__ import annotations

from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.fhir.smart import valid
from tests.support.api import client_for
from tests.support.referral_world import World

READER = "system/*.read"


def test_consent_is_narrowed_to_the_referral(
    runtime: Runtime, api: TestClient, world: World
) -> None:
    case_id = world.case()
    consent_id = world.consent(case_id, purposes=["psychosocial_support", "case_transfer"])["id"]
    assert world.refer(case_id, categories=["identity"]).status_code == 201
    reader = client_for(runtime, api, world.recipient.organization_id, READER)
    consent = valid(api.get(f"/fhir/R4/Consent/{consent_id}", headers=reader.headers).json())
    provision = consent["provision"]
    assert [c["code"] for c in provision["purpose"]] == ["psychosocial_support"]
    assert [c["code"] for c in provision["class"]] == ["identity"]
    assert provision["actor"][0]["reference"]["reference"] == (
        f"Organization/{world.recipient.organization_id}"
    )
    outsider = client_for(runtime, api, world.outsider.organization_id, READER)
    assert api.get(f"/fhir/R4/Consent/{consent_id}", headers=outsider.headers).status_code == 404


def test_the_directory(runtime: Runtime, api: TestClient, world: World) -> None:
    reader = client_for(runtime, api, world.outsider.organization_id, READER)
    made = api.post(
        "/v1/services",
        json={
            "service_type": "psychosocial_support",
            "name": "Counselling for women, Arlit",
            "areas": [{"path": "NE/NE-AG/NE-AG-ARL", "name": "Arlit"}],
        },
        headers=world.recipient.headers,
    )
    assert made.status_code == 201, made.text
    service_id = made.json()["id"]
    for query, expected in (
        ("location=NE-AG", [service_id]),
        ("location=NE-AG-ARL&type=psychosocial_support", [service_id]),
        ("name=counselling", [service_id]),
        ("location=NE-TA", []),
    ):
        bundle = valid(
            api.get(f"/fhir/R4/HealthcareService?{query}", headers=reader.headers).json()
        )
        assert [e["resource"]["id"] for e in bundle.get("entry", [])] == expected, query
    service = valid(
        api.get(f"/fhir/R4/HealthcareService/{service_id}", headers=reader.headers).json()
    )
    assert service["providedBy"]["reference"] == f"Organization/{world.recipient.organization_id}"
    bundle = valid(api.get("/fhir/R4/Organization?name=partner", headers=reader.headers).json())
    assert [e["resource"]["id"] for e in bundle["entry"]] == [world.recipient.organization_id]
    org = valid(
        api.get(
            f"/fhir/R4/Organization/{world.sender.organization_id}", headers=reader.headers
        ).json()
    )
    assert org["type"][0]["coding"][0]["code"] == "iom_office"


def _bundle_naming(name: str) -> dict[str, object]:
    patient = {"resourceType": "Patient", "name": [{"family": name}]}
    entry = {"resource": patient, "request": {"method": "POST", "url": "Patient"}}
    return {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}


def test_errors_are_operation_outcomes_that_echo_nothing(
    runtime: Runtime, api: TestClient, world: World
) -> None:
    writer = client_for(runtime, api, world.sender.organization_id, "system/*.cruds")
    secret = "Aminata Quillandra"
    for method, path, body, status in (
        ("GET", "/fhir/R4/Nothing/1", None, 404),
        ("GET", "/fhir/R4/Task?colour=" + secret, None, 422),
        ("POST", "/fhir/R4/Task", {"resourceType": "Task", "status": secret}, 400),
        ("POST", "/fhir/R4", _bundle_naming(secret), 400),
        (
            "PUT",
            "/fhir/R4/Task/nope",
            {"resourceType": "Task", "status": "received", "intent": "order"},
            404,
        ),
    ):
        response = api.request(
            method, path, json=body, headers={**writer.headers, "Accept": "application/fhir+json"}
        )
        assert response.status_code == status, (path, response.text)
        assert secret not in response.text
        assert valid(response.json())["resourceType"] == "OperationOutcome"
    xml = api.get("/fhir/R4/metadata", headers={"Accept": "application/fhir+xml"})
    assert xml.status_code == 406
