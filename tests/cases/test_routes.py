"""The cases API as a partner system uses it."""

from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support.api import client_for, partner

CASE = {
    "external_ref": "MRRM-NE-2026-0042",
    "subject": {"birth_date": "2010-03-14", "sex": "female"},
    "data": {
        "identity": {"given_name": "Aïcha", "family_name": "Moussa"},
        "contact": {"phone": "+227 90 00 00 00"},
        "psychosocial": {"notes": "sleeps badly"},
    },
}


def test_create_read_update_and_erase(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    created = api.post("/v1/cases", json=CASE, headers=iom.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["owner_organization_id"] == iom.organization_id
    assert body["categories"] == ["contact", "identity", "psychosocial"]
    assert "data" not in body and "subject" not in body

    read = api.get(f"/v1/cases/{body['id']}", headers=iom.headers).json()
    assert read["data"]["identity"]["given_name"] == "Aïcha"
    assert read["subject"] == CASE["subject"]

    patched = api.patch(
        f"/v1/cases/{body['id']}",
        json={"data": {"contact": None, "health": {"conditions": ["asthma"]}}},
        headers=iom.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["categories"] == ["health", "identity", "psychosocial"]

    erased = api.delete(f"/v1/cases/{body['id']}", headers=iom.headers)
    assert erased.status_code == 204
    gone = api.get(f"/v1/cases/{body['id']}", headers=iom.headers)
    assert gone.status_code == 410
    assert gone.json()["code"] == "case_erased"


def test_another_organisation_gets_404_for_every_case_route(
    runtime: Runtime, api: TestClient
) -> None:
    owner = partner(runtime, api, "IOM Agadez", kind="iom_office")
    other = partner(runtime, api, "NGO")
    case_id = api.post("/v1/cases", json=CASE, headers=owner.headers).json()["id"]
    for method, body in (("GET", None), ("PATCH", {"data": {"contact": None}}), ("DELETE", None)):
        response = api.request(method, f"/v1/cases/{case_id}", json=body, headers=other.headers)
        assert response.status_code == 404, (method, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    listed = api.get("/v1/cases", headers=other.headers).json()
    assert listed == {"items": [], "next": None}
    # and the owner's data is untouched by the attempts
    still = api.get(f"/v1/cases/{case_id}", headers=owner.headers).json()
    assert "contact" in still["data"]


def test_list_is_paginated_with_a_cursor(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    made = set()
    for n in range(5):
        case = dict(CASE, external_ref=f"REF-{n}")
        made.add(api.post("/v1/cases", json=case, headers=iom.headers).json()["id"])
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get("/v1/cases", params=params, headers=iom.headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == 5 and set(seen) == made
    bad = api.get("/v1/cases", params={"cursor": "!!"}, headers=iom.headers)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_cursor")


def test_bad_input_is_a_problem_and_writes_nothing(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    unknown = dict(CASE, data={"blood_type": {"group": "O+"}})
    r1 = api.post("/v1/cases", json=unknown, headers=iom.headers)
    assert (r1.status_code, r1.json()["code"]) == (422, "unknown_value")
    assert "O+" not in r1.text
    wrong_type = dict(CASE, subject={"birth_date": "yesterday", "sex": "female"})
    r2 = api.post("/v1/cases", json=wrong_type, headers=iom.headers)
    assert (r2.status_code, r2.json()["code"]) == (422, "validation_error")
    assert "yesterday" not in r2.text
    r3 = api.post(
        "/v1/cases",
        content=b'{"external_ref": ',
        headers=iom.headers | {"content-type": "application/json"},
    )
    assert (r3.status_code, r3.json()["code"]) == (400, "malformed_json")
    api.post("/v1/cases", json=CASE, headers=iom.headers)
    duplicate = api.post("/v1/cases", json=CASE, headers=iom.headers)
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "duplicate_external_ref")
    assert len(api.get("/v1/cases", headers=iom.headers).json()["items"]) == 1


def test_scopes_are_enforced(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    reader = client_for(runtime, api, iom.organization_id, "cases:read")
    refused = api.post("/v1/cases", json=CASE, headers=reader.headers)
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert api.get("/v1/cases", headers=reader.headers).status_code == 200
    assert api.get("/v1/cases").status_code == 401


def test_idempotency_key_replays_the_first_answer(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    headers = iom.headers | {"Idempotency-Key": "create-0042"}
    first = api.post("/v1/cases", json=CASE, headers=headers)
    again = api.post("/v1/cases", json=CASE, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other_body = dict(CASE, external_ref="ANOTHER")
    reused = api.post("/v1/cases", json=other_body, headers=headers)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert len(api.get("/v1/cases", headers=iom.headers).json()["items"]) == 1
    # keys belong to a client: another client's identical key is a new request
    other = partner(runtime, api, "NGO")
    fresh = api.post(
        "/v1/cases", json=CASE, headers=other.headers | {"Idempotency-Key": "create-0042"}
    )
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
