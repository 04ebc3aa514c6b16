"""`On-Behalf-Of`: a partner's client acting for one of its organisation's people."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.runtime import Runtime
from hub.users import service as users
from hub.users.models import User
from tests.support.api import Partner, partner

CASE = {
    "external_ref": "MRRM-NE-2026-0042",
    "subject": {"birth_date": "2010-03-14", "sex": "female"},
    "data": {"identity": {"given_name": "Aïcha", "family_name": "Moussa"}},
}


def _person(runtime: Runtime, organization_id: str, email: str) -> str:
    with runtime.sessions.begin() as db:
        return users.create(
            db=db,
            actor="test",
            organization_id=organization_id,
            email=email,
            password="correct horse battery staple",
            role="case_worker",
        ).id


def _created_by(runtime: Runtime, case_id: str) -> str:
    with runtime.sessions() as db:
        entry = db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "case.created", AuditEntry.object_id == case_id
            )
        ).one()
        return entry.actor


def _post(api: TestClient, who: Partner, on_behalf_of: str | None, ref: str = "A-1"):  # type: ignore[no-untyped-def]
    headers = dict(who.headers)
    if on_behalf_of is not None:
        headers["On-Behalf-Of"] = on_behalf_of
    return api.post("/v1/cases", json=CASE | {"external_ref": ref}, headers=headers)


@pytest.fixture
def iom(runtime: Runtime, api: TestClient) -> Partner:
    return partner(runtime, api, "IOM Agadez", kind="iom_office")


def test_the_person_is_named_via_the_client(
    runtime: Runtime, api: TestClient, iom: Partner
) -> None:
    worker = _person(runtime, iom.organization_id, "worker@iom.example.org")
    answer = _post(api, iom, worker)
    assert answer.status_code == 201, answer.text
    actor = _created_by(runtime, answer.json()["id"])
    assert actor == f"user:{worker}@{iom.organization_id} via client:{iom.client_id}"
    # without the header the client alone is named
    alone = _post(api, iom, None, ref="A-2")
    assert _created_by(runtime, alone.json()["id"]) == f"client:{iom.client_id}"


def test_the_scopes_stay_the_clients(runtime: Runtime, api: TestClient) -> None:
    reader = partner(runtime, api, "Reader NGO", scope="cases:read")
    # an administrator of the organisation: their role does not lend the client its scopes
    with runtime.sessions.begin() as db:
        admin = users.create(
            db=db,
            actor="test",
            organization_id=reader.organization_id,
            email="admin@reader.example.org",
            password="correct horse battery staple",
            role="admin",
        ).id
    refused = _post(api, reader, admin)
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize("who", ["other_org", "unknown", "disabled", "empty", "long"])
def test_anyone_else_is_an_unknown_user(
    runtime: Runtime, api: TestClient, iom: Partner, who: str
) -> None:
    other = partner(runtime, api, "Another NGO")
    stranger = _person(runtime, other.organization_id, "stranger@ngo.example.org")
    gone = _person(runtime, iom.organization_id, "gone@iom.example.org")
    with runtime.sessions.begin() as db:
        user = db.get(User, gone)
        assert user is not None
        users.disable(db=db, actor="test", user=user)
    value = {
        "other_org": stranger,
        "unknown": "0" * 32,
        "disabled": gone,
        "empty": "",
        "long": "x" * 500,
    }[who]
    answer = _post(api, iom, value)
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["code"] == "unknown_user"
    # the same answer whichever check failed
    assert body["detail"] == (
        "On-Behalf-Of must name an enabled user of the client's organisation."
    )
    with runtime.sessions() as db:
        assert db.scalars(select(AuditEntry).where(AuditEntry.action == "case.created")).all() == []


def test_the_header_and_the_rule_are_in_the_openapi_document(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["oauth2"]
    assert "On-Behalf-Of" in scheme["description"]
    assert "unknown_user" in scheme["description"]
    parameters = document["paths"]["/v1/cases"]["post"]["parameters"]
    assert any(p["name"] == "On-Behalf-Of" and p["in"] == "header" for p in parameters)
