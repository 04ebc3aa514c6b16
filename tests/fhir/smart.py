"""SMART backend services on a live hub: organisations whose clients sign `private_key_jwt`
assertions (ES384), their tokens, and fhirpy clients holding them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhirpy import AsyncFHIRClient, SyncFHIRClient
from joserfc import jwt
from joserfc.jwk import ECKey

from hub.auth.clients import create_client
from tests.support import factories
from tests.support.live_hub import Live

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class Backend:
    """One organisation's SMART backend service on the live hub."""

    live: Live
    organization_id: str
    client_id: str
    key: ECKey

    def token(self, scope: str | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.live.token_url,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        assertion = jwt.encode(
            {"alg": "ES384", "kid": self.key.thumbprint()}, claims, self.key, algorithms=["ES384"]
        )
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        if scope:
            form["scope"] = scope
        response = self.live.http.post(self.live.token_url, data=form)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def headers(self, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(scope)}"}

    def fhir(self, scope: str | None = None) -> SyncFHIRClient:
        return SyncFHIRClient(
            self.live.url("/fhir/R4"), authorization=f"Bearer {self.token(scope)}"
        )

    def fhir_async(self, scope: str | None = None) -> AsyncFHIRClient:
        return AsyncFHIRClient(
            self.live.url("/fhir/R4"), authorization=f"Bearer {self.token(scope)}"
        )


def backend(
    live: Live, name: str, scope: str, *, kind: str = "ngo", services: list[str] | None = None
) -> Backend:
    key = ECKey.generate_key("P-384")
    public = {**key.as_dict(private=False), "kid": key.thumbprint()}
    with live.runtime.sessions.begin() as db:
        organization = factories.org(db, live.runtime.policy, name, kind=kind, services=services)
        client, secret = create_client(
            db=db, organization_id=organization.id, scope=scope, jwks={"keys": [public]}
        )
        assert secret is None
        return Backend(live, organization.id, client.client_id, key)


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, once fhir.resources R4B has read it without complaint (and its entries')."""
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(dict(resource))
    for entry in resource.get("entry") or ():
        if entry.get("resource"):
            valid(entry["resource"])
    return resource
