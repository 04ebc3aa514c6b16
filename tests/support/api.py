"""Partners for API tests: an organisation, an OAuth client and a real access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from fastapi.testclient import TestClient

from hub.auth.clients import create_client
from hub.organizations import service as organizations
from hub.runtime import Runtime
from hub.users import service as users
from tests.support.factories import org

ALL_PARTNER_SCOPES = (
    "cases:read cases:write consents:read consents:write referrals:read referrals:write "
    "transfers:read transfers:write reviews:decide services:write reports:read"
)


@dataclass(frozen=True)
class Partner:
    organization_id: str
    client_id: str
    token: str
    # the person the client acts for (`On-Behalf-Of`), if any
    user_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.user_id is not None:
            headers["On-Behalf-Of"] = self.user_id
        return headers

    @property
    def actor(self) -> str:
        """How events, reviews and the audit log name this caller."""
        client = f"client:{self.client_id}"
        if self.user_id is None:
            return client
        return f"user:{self.user_id}@{self.organization_id} via {client}"

    def acting_for(self, user_id: str | None) -> Partner:
        """The same client acting for another person (None: for no one)."""
        return replace(self, user_id=user_id)


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


def operator(runtime: Runtime, api: TestClient, name: str = "Hub operations") -> Partner:
    """The hub's operator organisation with a client holding `admin` (and nothing else)."""
    with runtime.sessions.begin() as db:
        organization = organizations.create_operator(db=db, actor="test", name=name)
        client, secret = create_client(db=db, organization_id=organization.id, scope="admin")
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


def person_of(runtime: Runtime, organization_id: str, role: str) -> str:
    """A person of the organisation with that role (a console user); returns their id."""
    with runtime.sessions.begin() as db:
        user = users.create(
            db=db,
            actor="test",
            organization_id=organization_id,
            email=f"{role}-{uuid.uuid4().hex[:10]}@example.org",
            password="correct horse battery staple",
            role=role,
        )
        return user.id


def officer_for(
    runtime: Runtime, api: TestClient, organization_id: str, scope: str = "reviews:decide"
) -> Partner:
    """A client of the organisation acting for one of its consent officers (`On-Behalf-Of`):
    reviews are decided by people, never by a client on its own."""
    client = client_for(runtime, api, organization_id, scope)
    return client.acting_for(person_of(runtime, organization_id, "consent_officer"))
