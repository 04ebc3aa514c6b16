"""Partners for API tests: an organisation, an OAuth client and a real access token."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from hub.auth.clients import create_client
from hub.runtime import Runtime
from tests.support.factories import org

ALL_PARTNER_SCOPES = (
    "cases:read cases:write consents:read consents:write referrals:read referrals:write "
    "transfers:read transfers:write reviews:decide"
)


@dataclass(frozen=True)
class Partner:
    organization_id: str
    client_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def token_for(api: TestClient, client_id: str, secret: str, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    response = api.post("/oauth/token", data=form, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def partner(
    runtime: Runtime,
    api: TestClient,
    name: str,
    *,
    kind: str = "ngo",
    scope: str = ALL_PARTNER_SCOPES,
    parent_id: str | None = None,
    services: list[str] | None = None,
) -> Partner:
    with runtime.sessions.begin() as db:
        organization = org(
            db, runtime.policy, name, kind=kind, parent_id=parent_id, services=services
        )
        client, secret = create_client(db=db, organization_id=organization.id, scope=scope)
        org_id, client_id = organization.id, client.client_id
    assert secret is not None
    return Partner(org_id, client_id, token_for(api, client_id, secret))


def client_for(runtime: Runtime, api: TestClient, organization_id: str, scope: str) -> Partner:
    """Another client of an existing organisation, e.g. with fewer scopes."""
    with runtime.sessions.begin() as db:
        client, secret = create_client(db=db, organization_id=organization_id, scope=scope)
        client_id = client.client_id
    assert secret is not None
    return Partner(organization_id, client_id, token_for(api, client_id, secret))
