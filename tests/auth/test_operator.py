"""The hub's operator: `admin` spans every organisation, so only the operator's clients and
people hold it, and they hold nothing else; the operator takes no part in data sharing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from hub.api.problems import Problem
from hub.auth.clients import create_client, rotate_secret
from hub.auth.models import OAuthClient
from hub.runtime import Runtime
from hub.users import service as users
from tests.support.api import Partner, operator, partner


def _token_scope(api: TestClient, client_id: str, secret: str, scope: str) -> str:
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = api.post("/oauth/token", data=form, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    return str(response.json()["scope"])


def test_a_partners_client_is_never_registered_with_admin(
    runtime: Runtime, api: TestClient
) -> None:
    hub = operator(runtime, api)
    ngo = partner(runtime, api, "NGO")
    refused = api.post(
        f"/v1/organizations/{ngo.organization_id}/clients",
        json={"scope": "referrals:read admin"},
        headers=hub.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "scope_not_allowed"
    # the operator's own clients hold `admin` and nothing else
    mixed = api.post(
        f"/v1/organizations/{hub.organization_id}/clients",
        json={"scope": "admin cases:read"},
        headers=hub.headers,
    )
    assert mixed.status_code == 422
    assert mixed.json()["code"] == "scope_not_allowed"
    made = api.post(
        f"/v1/organizations/{hub.organization_id}/clients",
        json={"scope": "admin"},
        headers=hub.headers,
    )
    assert made.status_code == 201, made.text


def test_a_partner_client_registered_with_admin_before_the_rule_holds_it_no_more(
    runtime: Runtime, api: TestClient
) -> None:
    country = partner(runtime, api, "IOM Niger", kind="iom_office")
    ngo = partner(runtime, api, "NGO")
    # a token issued while the row still said `admin`, then the row as an old hub wrote it
    with runtime.sessions.begin() as db:
        db.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == country.client_id)
            .values(scope="admin cases:read")
        )
    old = Partner(country.organization_id, country.client_id, country.token)
    # what the review reproduced: a country office's client making a client for the NGO
    made = api.post(
        f"/v1/organizations/{ngo.organization_id}/clients",
        json={"scope": "referrals:read"},
        headers=old.headers,
    )
    assert made.status_code == 403
    assert made.json()["code"] == "insufficient_scope"
    assert api.get("/v1/deliveries", headers=old.headers).status_code == 403


def test_a_new_token_for_an_old_admin_row_leaves_admin_out(
    runtime: Runtime, api: TestClient
) -> None:
    country = partner(runtime, api, "IOM Niger", kind="iom_office")
    with runtime.sessions.begin() as db:
        client, secret = create_client(
            db=db, organization_id=country.organization_id, scope="cases:read"
        )
        client_id = client.client_id
    with runtime.sessions.begin() as db:
        db.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == client_id)
            .values(scope="admin cases:read")
        )
        secret = rotate_secret(db=db, client_id=client_id)
    # asked for, `admin` is a scope the client does not hold; by default it is left out
    asked = api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "admin cases:read"},
        auth=(client_id, secret),
    )
    assert asked.status_code == 400 and asked.json()["error"] == "invalid_scope"
    assert _token_scope(api, client_id, secret, "") == "cases:read"


def test_the_operator_is_no_partner(runtime: Runtime, api: TestClient) -> None:
    hub = operator(runtime, api)
    ngo = partner(runtime, api, "NGO")
    country = partner(runtime, api, "IOM Niger", kind="iom_office")
    listed = {o["id"] for o in api.get("/v1/organizations", headers=ngo.headers).json()["items"]}
    assert ngo.organization_id in listed and hub.organization_id not in listed
    assert (
        api.get(f"/v1/organizations/{hub.organization_id}", headers=ngo.headers).status_code == 404
    )
    # its own administrators see it
    seen = api.get(f"/v1/organizations/{hub.organization_id}", headers=hub.headers)
    assert seen.status_code == 200 and seen.json()["kind"] == "hub_operator"
    # never party to an agreement
    agreement = api.post(
        "/v1/agreements",
        json={
            "from_organization_id": country.organization_id,
            "to_organization_id": hub.organization_id,
            "purposes": ["psychosocial_support"],
            "categories": ["identity"],
        },
        headers=hub.headers,
    )
    assert agreement.status_code == 422
    assert agreement.json()["code"] == "invalid_agreement"
    # and no partner can make an organisation of its kind
    made = api.post(
        "/v1/organizations",
        json={"name": "Another hub", "kind": "hub_operator"},
        headers=hub.headers,
    )
    assert made.status_code == 422
    assert made.json()["code"] == "unknown_value"


def test_people_hold_admin_only_at_the_operator(runtime: Runtime, api: TestClient) -> None:
    hub = operator(runtime, api)
    ngo = partner(runtime, api, "NGO")
    with runtime.sessions.begin() as db:
        boss = users.create(
            db=db,
            actor="test",
            organization_id=ngo.organization_id,
            email="boss@ngo.example",
            password="correct horse battery staple",
            role="admin",
        )
        ops = users.create(
            db=db,
            actor="test",
            organization_id=hub.organization_id,
            email="ops@hub.example",
            password="correct horse battery staple",
            role="admin",
        )
        assert "admin" not in users.principal_of(db=db, user=boss).scopes
        assert "cases:read" in users.principal_of(db=db, user=boss).scopes
        assert users.principal_of(db=db, user=ops).scopes == ("admin",)


def test_the_operators_people_are_administrators(runtime: Runtime, api: TestClient) -> None:
    hub = operator(runtime, api)
    with runtime.sessions() as db, pytest.raises(Problem) as refused:
        users.create(
            db=db,
            actor="test",
            organization_id=hub.organization_id,
            email="worker@hub.example",
            password="correct horse battery staple",
            role="case_worker",
        )
    assert refused.value.code == "invalid_role"


def test_the_operators_admin_token_works(runtime: Runtime, api: TestClient) -> None:
    hub = operator(runtime, api)
    assert api.get("/v1/deliveries", headers=hub.headers).status_code == 200
