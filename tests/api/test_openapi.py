"""The OpenAPI document says what the API does: the policy's vocabularies as enums, and the
problem answers of every operation."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from hub.api.vocabulary import as_lists as vocabularies
from hub.runtime import Runtime

PROBLEM = "application/problem+json"


def _doc(api: TestClient) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _enum(schema: dict[str, Any]) -> list[str] | None:
    if "enum" in schema:
        return list(schema["enum"])
    if schema.get("type") == "array":
        return _enum(schema["items"])
    for branch in schema.get("anyOf", []):
        if branch.get("type") != "null":
            return _enum(branch)
    return None


def test_vocabularies_are_the_policys_enums(runtime: Runtime, api: TestClient) -> None:
    schemas = _doc(api)["components"]["schemas"]
    vocab = vocabularies(runtime.policy)
    expected = {
        ("ReferralCreate", "purpose"): "purposes",
        ("ReferralCreate", "service_type"): "service_types",
        ("ReferralCreate", "categories"): "data_categories",
        ("ReferralCreate", "urgency"): "urgencies",
        ("OrganizationCreate", "kind"): "organization_kinds",
        ("OrganizationCreate", "services"): "service_types",
        ("AgreementCreate", "purposes"): "purposes",
        ("AgreementCreate", "categories"): "data_categories",
    }
    for (name, prop), vocabulary in expected.items():
        assert _enum(schemas[name]["properties"][prop]) == vocab[vocabulary], (name, prop)
    # the consent's recipients and exclusions name organisation kinds
    consent = schemas["ConsentCreate"]["properties"]
    assert _enum(consent["purposes"]) == vocab["purposes"]
    assert _enum(consent["categories"]) == vocab["data_categories"]


def test_every_operation_declares_its_problem_answers(api: TestClient) -> None:
    doc = _doc(api)
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            errors = {int(s) for s in responses if s.startswith(("4", "5"))}
            assert 400 in errors, (method, path)
            if operation.get("security"):
                assert {401, 403} <= errors, (method, path)
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                assert 404 in errors, (method, path)
            for status in errors:
                content = responses[str(status)]["content"]
                media = "application/json" if path.startswith("/oauth/") else PROBLEM
                assert list(content) == [media], (method, path, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_a_vocabulary_value_the_document_lists_is_accepted(
    runtime: Runtime, api: TestClient
) -> None:
    """The enums are the validation's: each listed purpose passes the vocabulary check (the
    referral then fails for want of a case, not of a purpose)."""
    from tests.support.api import partner

    ngo = partner(runtime, api, "NGO")
    enum = _enum(_doc(api)["components"]["schemas"]["ReferralCreate"]["properties"]["purpose"])
    assert enum
    for purpose in enum:
        body = {
            "case_id": "missing",
            "to_organization_id": ngo.organization_id,
            "service_type": vocabularies(runtime.policy)["service_types"][0],
            "purpose": purpose,
            "categories": ["identity"],
        }
        answer = api.post("/v1/referrals", json=body, headers=ngo.headers)
        assert answer.json().get("vocabulary") is None, (purpose, answer.json())


def test_creating_operations_link_to_those_that_use_what_they_made(api: TestClient) -> None:
    doc = _doc(api)
    by_id = {op["operationId"]: op for item in doc["paths"].values() for op in item.values()}
    made = doc["paths"]["/v1/cases"]["post"]["responses"]["201"]["links"]
    assert "read_case_v1_cases__case_id__get" in made
    held = doc["paths"]["/v1/referrals"]["post"]["responses"]["202"]["links"]
    assert held["approve_review_v1_reviews__review_id__approve_post"]["parameters"] == {
        "review_id": "$response.body#/review_id"
    }
    for item in doc["paths"].values():
        for operation in item.values():
            for response in operation["responses"].values():
                for link in response.get("links", {}).values():
                    follower = by_id[link["operationId"]]
                    needs = {p["name"] for p in follower["parameters"] if p["in"] == "path"}
                    assert set(link["parameters"]) == needs, link
