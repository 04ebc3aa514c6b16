"""The consent API as a partner system uses it."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.api.models import IdempotencyRecord
from hub.consent.evidence import EVIDENCE_MAX_BYTES
from hub.outbox.models import OutboxMessage
from hub.runtime import Runtime
from tests.consent.conftest import consent_body
from tests.support.api import Partner, client_for, partner

CASE = {
    "external_ref": "MRRM-NE-2026-0042",
    "subject": {"birth_date": "2014-03-14", "sex": "female"},
    "data": {"identity": {"given_name": "Aïcha", "family_name": "Moussa"}},
}
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


@pytest.fixture
def iom(runtime: Runtime, api: TestClient) -> Partner:
    return partner(runtime, api, "IOM Agadez", kind="iom_office")


@pytest.fixture
def case_id(api: TestClient, iom: Partner) -> str:
    response = api.post("/v1/cases", json=CASE, headers=iom.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def post_consent(api: TestClient, who: Partner, case_id: str, **overrides: Any) -> Any:
    return api.post(
        f"/v1/cases/{case_id}/consents", json=consent_body(**overrides), headers=who.headers
    )


def put_evidence(
    api: TestClient, who: Partner, consent_id: str, content: Any, media: str = "application/pdf"
) -> Any:
    return api.put(
        f"/v1/consents/{consent_id}/evidence",
        content=content,
        headers=who.headers | {"content-type": media},
    )


def test_record_read_list_supersede_and_withdraw(
    runtime: Runtime, api: TestClient, iom: Partner, case_id: str
) -> None:
    caregiver = {"name": "Mariama Issoufou", "relationship": "mother"}
    created = post_consent(
        api, iom, case_id, given_by="caregiver", caregiver=caregiver, child_assent=True
    )
    assert created.status_code == 201, created.text
    v1 = created.json()
    assert (v1["version"], v1["status"], v1["supersedes"]) == (1, "active", None)
    assert v1["case_id"] == case_id and v1["caregiver"] == caregiver
    assert v1["recipients"] == {"organizations": [], "kinds": ["ngo", "iom_office"]}
    assert v1["exclusions"] == {"organizations": [], "kinds": ["government"]}
    assert v1["valid_from"] == "2026-01-01T00:00:00Z"
    assert v1["recorded_by"] == f"client:{iom.client_id}"
    assert v1["withdrawal"] is None and v1["evidence"] is None
    assert api.get(f"/v1/consents/{v1['id']}", headers=iom.headers).json() == v1

    renewed = post_consent(
        api,
        iom,
        case_id,
        given_by="caregiver",
        caregiver=caregiver,
        child_assent=True,
        supersedes=v1["id"],
        categories=["identity"],
    )
    assert renewed.status_code == 201, renewed.text
    v2 = renewed.json()
    assert (v2["version"], v2["series_id"], v2["supersedes"]) == (2, v1["series_id"], v1["id"])
    stale = post_consent(api, iom, case_id, supersedes=v1["id"])
    assert (stale.status_code, stale.json()["code"]) == (409, "consent_superseded")
    assert stale.json()["current_id"] == v2["id"]

    listed = api.get(f"/v1/cases/{case_id}/consents", headers=iom.headers).json()
    assert [(c["id"], c["status"]) for c in listed["items"]] == [
        (v2["id"], "active"),
        (v1["id"], "superseded"),
    ]
    assert listed["next"] is None

    withdrawn = api.post(
        f"/v1/consents/{v2['id']}/withdraw",
        json={"reason": "family moving on", "method": "verbal"},
        headers=iom.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert body["status"] == "withdrawn"
    assert body["withdrawal"]["method"] == "verbal"
    assert body["withdrawal"]["reason"] == "family moving on"
    assert body["withdrawal"]["recorded_by"] == f"client:{iom.client_id}"
    assert api.get(f"/v1/consents/{v1['id']}", headers=iom.headers).json()["status"] == (
        "withdrawn"
    )
    again = api.post(
        f"/v1/consents/{v2['id']}/withdraw", json={"method": "written"}, headers=iom.headers
    )
    assert (again.status_code, again.json()["code"]) == (409, "consent_withdrawn")
    after = post_consent(api, iom, case_id, supersedes=v2["id"])
    assert (after.status_code, after.json()["code"]) == (409, "consent_withdrawn")
    with runtime.sessions.begin() as db:
        topics = db.scalars(select(OutboxMessage.topic)).all()
    assert topics == ["consent.withdrawn"]


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"given_by": "caregiver"}, 422, "caregiver_missing"),
        ({"caregiver": {"name": "X", "relationship": "aunt"}}, 422, "caregiver_unexpected"),
        ({"valid_until": "2025-06-01T00:00:00Z"}, 422, "invalid_dates"),
        ({"given_at": "2099-06-01T00:00:00Z"}, 422, "invalid_dates"),
        ({"purposes": ["advertising"]}, 422, "unknown_value"),
        ({"categories": ["biometrics"]}, 422, "unknown_value"),
        ({"recipients": {"kinds": ["private_company"]}}, 422, "unknown_value"),
        ({"recipients": {"organizations": [], "kinds": []}}, 422, "recipients_missing"),
        ({"supersedes": "0" * 32}, 422, "invalid_supersedes"),
        # structure and types: the generic validation problem
        ({"valid_from": "2026-01-01T00:00:00"}, 422, "validation_error"),  # no zone
        ({"method": "telepathy"}, 422, "validation_error"),
        ({"language": "French, please"}, 422, "validation_error"),
        ({"purposes": []}, 422, "validation_error"),
        ({"notes": "extra members are refused"}, 422, "validation_error"),
    ],
)
def test_refusals(
    api: TestClient,
    iom: Partner,
    case_id: str,
    overrides: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = post_consent(api, iom, case_id, **overrides)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert api.get(f"/v1/cases/{case_id}/consents", headers=iom.headers).json()["items"] == []


def test_evidence_over_http(api: TestClient, iom: Partner, case_id: str) -> None:
    consent_id = post_consent(api, iom, case_id).json()["id"]
    missing = api.get(f"/v1/consents/{consent_id}/evidence", headers=iom.headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")

    stored = put_evidence(api, iom, consent_id, PDF)
    assert stored.status_code == 201, stored.text
    # keyed with the case's hash key (not the bare SHA-256 of the file)
    digest = stored.json()["sha256"]
    assert len(digest) == 64 and digest != hashlib.sha256(PDF).hexdigest()
    assert stored.json() == {"content_type": "application/pdf", "size": len(PDF), "sha256": digest}
    assert put_evidence(api, iom, consent_id, PDF).status_code == 200  # the same file again
    replaced = put_evidence(api, iom, consent_id, PDF + b"% altered\n")
    assert (replaced.status_code, replaced.json()["code"]) == (409, "evidence_exists")

    fetched = api.get(f"/v1/consents/{consent_id}/evidence", headers=iom.headers)
    assert fetched.status_code == 200
    assert fetched.content == PDF
    assert fetched.headers["content-type"] == "application/pdf"
    assert fetched.headers["etag"] == f'"{digest}"'
    b64 = base64.b64encode(hashlib.sha256(PDF).digest()).decode()
    assert fetched.headers["repr-digest"] == f"sha-256=:{b64}:"
    assert fetched.headers["cache-control"] == "no-store"
    read = api.get(f"/v1/consents/{consent_id}", headers=iom.headers).json()
    assert read["evidence"]["sha256"] == digest


def test_evidence_limits_over_http(api: TestClient, iom: Partner, case_id: str) -> None:
    ids = [post_consent(api, iom, case_id).json()["id"] for _ in range(3)]
    # above the app-wide body limit (1 MiB by default) but within the evidence limit
    scan = b"%PDF-" + bytes(2 * 1024 * 1024)
    assert put_evidence(api, iom, ids[0], scan).status_code == 201

    too_large = b"%PDF-" + bytes(EVIDENCE_MAX_BYTES)
    declared = put_evidence(api, iom, ids[1], too_large)
    assert (declared.status_code, declared.json()["code"]) == (413, "evidence_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b"%PDF-"
        for _ in range(11):
            yield bytes(1024 * 1024)

    streamed = put_evidence(api, iom, ids[1], chunks())
    assert (streamed.status_code, streamed.json()["code"]) == (413, "evidence_too_large")

    wrong_type = put_evidence(api, iom, ids[1], b"GIF89a", media="image/gif")
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (415, "unsupported_media_type")
    as_json = api.put(f"/v1/consents/{ids[1]}/evidence", json={"a": 1}, headers=iom.headers)
    assert (as_json.status_code, as_json.json()["code"]) == (415, "unsupported_media_type")
    disguised = put_evidence(api, iom, ids[1], b"\x89PNG\r\n\x1a\n....", media="image/jpeg")
    assert (disguised.status_code, disguised.json()["code"]) == (422, "evidence_type_mismatch")
    assert api.get(f"/v1/consents/{ids[1]}", headers=iom.headers).json()["evidence"] is None

    # the exemption is for evidence only: other routes keep the app-wide limit
    bloated = consent_body()
    bloated["padding"] = "x" * (2 * 1024 * 1024)
    refused = api.post(f"/v1/cases/{case_id}/consents", json=bloated, headers=iom.headers)
    assert (refused.status_code, refused.json()["code"]) == (413, "payload_too_large")


def test_another_organisation_gets_404(
    runtime: Runtime, api: TestClient, iom: Partner, case_id: str
) -> None:
    other = partner(runtime, api, "Partner NGO")
    consent_id = post_consent(api, iom, case_id).json()["id"]
    assert put_evidence(api, iom, consent_id, PDF).status_code == 201
    calls = [
        ("POST", f"/v1/cases/{case_id}/consents", {"json": consent_body()}),
        ("GET", f"/v1/cases/{case_id}/consents", {}),
        ("GET", f"/v1/consents/{consent_id}", {}),
        ("POST", f"/v1/consents/{consent_id}/withdraw", {"json": {"method": "verbal"}}),
        ("GET", f"/v1/consents/{consent_id}/evidence", {}),
        (
            "PUT",
            f"/v1/consents/{consent_id}/evidence",
            {"content": PDF, "headers": other.headers | {"content-type": "application/pdf"}},
        ),
    ]
    for method, path, kwargs in calls:
        kwargs.setdefault("headers", other.headers)
        response = api.request(method, path, **kwargs)
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), path
    # nothing changed for the owner
    read = api.get(f"/v1/consents/{consent_id}", headers=iom.headers).json()
    assert read["status"] == "active"
    listed = api.get(f"/v1/cases/{case_id}/consents", headers=iom.headers).json()
    assert len(listed["items"]) == 1


def test_scopes_are_enforced(runtime: Runtime, api: TestClient, iom: Partner, case_id: str) -> None:
    reader = client_for(runtime, api, iom.organization_id, "consents:read")
    refused = post_consent(api, reader, case_id)
    assert refused.status_code == 403
    consent_id = post_consent(api, iom, case_id).json()["id"]
    assert api.get(f"/v1/consents/{consent_id}", headers=reader.headers).status_code == 200
    path = f"/v1/consents/{consent_id}/withdraw"
    assert api.post(path, json={"method": "verbal"}, headers=reader.headers).status_code == 403
    assert put_evidence(api, reader, consent_id, PDF).status_code == 403
    cases_only = client_for(runtime, api, iom.organization_id, "cases:read")
    listed = api.get(f"/v1/cases/{case_id}/consents", headers=cases_only.headers)
    assert listed.status_code == 403


def test_erased_case(api: TestClient, iom: Partner, case_id: str) -> None:
    caregiver = {"name": "Mariama Issoufou", "relationship": "mother"}
    consent_id = post_consent(api, iom, case_id, given_by="caregiver", caregiver=caregiver).json()[
        "id"
    ]
    assert put_evidence(api, iom, consent_id, PDF).status_code == 201
    assert api.delete(f"/v1/cases/{case_id}", headers=iom.headers).status_code == 204
    read = api.get(f"/v1/consents/{consent_id}", headers=iom.headers)
    assert read.status_code == 200
    assert read.json()["caregiver"] is None
    assert read.json()["evidence"]["size"] == len(PDF)
    gone = api.get(f"/v1/consents/{consent_id}/evidence", headers=iom.headers)
    assert (gone.status_code, gone.json()["code"]) == (410, "case_erased")
    new = post_consent(api, iom, case_id)
    assert (new.status_code, new.json()["code"]) == (410, "case_erased")


def test_idempotency_key_replays_without_remembering_personal_data(
    runtime: Runtime, api: TestClient, iom: Partner, case_id: str
) -> None:
    caregiver = {"name": "Mariama Issoufou", "relationship": "mother"}
    headers = iom.headers | {"Idempotency-Key": "consent-0042"}
    body = consent_body(given_by="caregiver", caregiver=caregiver)
    path = f"/v1/cases/{case_id}/consents"
    first = api.post(path, json=body, headers=headers)
    again = api.post(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.json()["caregiver"] == caregiver
    assert again.headers["idempotent-replayed"] == "true"
    reused = api.post(path, json=consent_body(), headers=headers)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert len(api.get(path, headers=iom.headers).json()["items"]) == 1

    consent_id = first.json()["id"]
    withdraw = f"/v1/consents/{consent_id}/withdraw"
    w_headers = iom.headers | {"Idempotency-Key": "withdraw-0042"}
    w_body = {"method": "verbal", "reason": "no longer wishes"}
    done = api.post(withdraw, json=w_body, headers=w_headers)
    retried = api.post(withdraw, json=w_body, headers=w_headers)
    assert done.status_code == retried.status_code == 200
    assert retried.json()["withdrawal"]["reason"] == "no longer wishes"
    # without the key a second withdrawal is refused
    plain = api.post(withdraw, json=w_body, headers=iom.headers)
    assert (plain.status_code, plain.json()["code"]) == (409, "consent_withdrawn")
    with runtime.sessions.begin() as db:
        remembered = db.scalars(select(IdempotencyRecord.response_body)).all()
    assert remembered == [{"id": consent_id}, {"id": consent_id}]
