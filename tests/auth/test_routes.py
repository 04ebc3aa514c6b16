"""Discovery, JWKS, introspection and revocation, over HTTP against the running hub."""

from __future__ import annotations

import time

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from hub.auth.clients import revoke_client
from tests.support.live_hub import Live


def _token(live: Live, client_id: str, secret: str | None) -> str:
    response = live.http.post(
        live.token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret or "")
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_rfc8414_metadata_lists_endpoints_methods_and_scopes(live: Live) -> None:
    response = live.http.get(live.url("/.well-known/oauth-authorization-server"))
    assert response.status_code == 200
    doc = response.json()
    assert doc["issuer"] == live.base_url
    assert doc["token_endpoint"] == live.token_url
    assert doc["jwks_uri"] == live.url("/.well-known/jwks.json")
    assert doc["introspection_endpoint"] == live.url("/oauth/introspect")
    assert doc["revocation_endpoint"] == live.url("/oauth/revoke")
    assert doc["grant_types_supported"] == ["client_credentials"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    }
    assert {"RS384", "ES384"} <= set(doc["token_endpoint_auth_signing_alg_values_supported"])
    assert "none" not in doc["token_endpoint_auth_signing_alg_values_supported"]
    assert {"cases:read", "reviews:decide", "system/*.read"} <= set(doc["scopes_supported"])
    # authlib's own RFC 8414 checker agrees (an authorization endpoint is only required
    # for grants that use one)
    metadata = AuthorizationServerMetadata(doc)
    metadata.validate_issuer()
    metadata.validate_token_endpoint()
    metadata.validate_jwks_uri()
    metadata.validate_scopes_supported()
    metadata.validate_token_endpoint_auth_methods_supported()
    metadata.validate_token_endpoint_auth_signing_alg_values_supported()
    metadata.validate_grant_types_supported()
    metadata.validate_revocation_endpoint()
    metadata.validate_introspection_endpoint()


def test_smart_configuration_for_backend_services(live: Live) -> None:
    doc = live.http.get(live.url("/.well-known/smart-configuration")).json()
    assert doc["token_endpoint"] == live.token_url
    assert doc["jwks_uri"] == live.url("/.well-known/jwks.json")
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]
    assert {"RS384", "ES384"} <= set(doc["token_endpoint_auth_signing_alg_values_supported"])
    assert "client-confidential-asymmetric" in doc["capabilities"]
    assert "client_credentials" in doc["grant_types_supported"]
    assert "system/*.read" in doc["scopes_supported"]


def test_jwks_serves_public_keys_only_and_they_verify_tokens(live: Live) -> None:
    client_id, secret, _ = live.client()
    token = _token(live, client_id, secret)
    response = live.http.get(live.url("/.well-known/jwks.json"))
    assert response.status_code == 200
    doc = response.json()
    for member in doc["keys"]:
        assert not {"d", "p", "q", "k"} & member.keys()
        assert member["use"] == "sig" and member["alg"] == "ES256"
        assert member["kid"] == ECKey.import_key(member).thumbprint()
    # a partner's resource server can check the hub's tokens with the published keys alone
    decoded = jwt.decode(token, KeySet.import_key_set(doc), algorithms=["ES256"])
    assert decoded.claims["sub"] == client_id


def test_introspection_of_own_token_active_then_inactive_after_revocation(live: Live) -> None:
    client_id, secret, org_id = live.client("cases:read")
    token = _token(live, client_id, secret)
    auth = (client_id, secret or "")
    active = live.http.post(live.url("/oauth/introspect"), data={"token": token}, auth=auth)
    assert active.status_code == 200
    assert active.headers["cache-control"] == "no-store"
    body = active.json()
    assert body["active"] is True
    assert (body["client_id"], body["org"], body["scope"]) == (client_id, org_id, "cases:read")
    assert body["exp"] > time.time()
    assert (
        live.http.get(
            live.url("/v1/_probe"), headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )

    revoked = live.http.post(live.url("/oauth/revoke"), data={"token": token}, auth=auth)
    assert revoked.status_code == 200
    inactive = live.http.post(live.url("/oauth/introspect"), data={"token": token}, auth=auth)
    assert inactive.json() == {"active": False}
    refused = live.http.get(live.url("/v1/_probe"), headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    # revoking it again, or revoking nonsense, is not an error (RFC 7009 §2.2)
    again = live.http.post(live.url("/oauth/revoke"), data={"token": token}, auth=auth)
    assert again.status_code == 200
    nonsense = live.http.post(live.url("/oauth/revoke"), data={"token": "x.y.z"}, auth=auth)
    assert nonsense.status_code == 200


def test_another_clients_token_introspects_inactive_and_cannot_be_revoked(live: Live) -> None:
    owner_id, owner_secret, _ = live.client()
    token = _token(live, owner_id, owner_secret)
    other_id, other_secret, _ = live.client()
    other = (other_id, other_secret or "")
    seen = live.http.post(live.url("/oauth/introspect"), data={"token": token}, auth=other)
    assert seen.json() == {"active": False}
    live.http.post(live.url("/oauth/revoke"), data={"token": token}, auth=other)
    still = live.http.get(live.url("/v1/_probe"), headers={"Authorization": f"Bearer {token}"})
    assert still.status_code == 200


def test_an_admin_client_introspects_any_token(live: Live) -> None:
    owner_id, owner_secret, org_id = live.client()
    token = _token(live, owner_id, owner_secret)
    admin_id, admin_secret, _ = live.client("admin")
    seen = live.http.post(
        live.url("/oauth/introspect"), data={"token": token}, auth=(admin_id, admin_secret or "")
    )
    assert seen.json()["active"] is True
    assert seen.json()["org"] == org_id


def test_introspection_and_revocation_need_client_authentication(live: Live) -> None:
    client_id, secret, _ = live.client()
    token = _token(live, client_id, secret)
    for path in ("/oauth/introspect", "/oauth/revoke"):
        anonymous = live.http.post(live.url(path), data={"token": token})
        assert anonymous.status_code in (400, 401)
        assert anonymous.json()["error"] == "invalid_client"
        wrong = live.http.post(live.url(path), data={"token": token}, auth=(client_id, "nope"))
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_client"
    missing = live.http.post(live.url("/oauth/introspect"), data={}, auth=(client_id, secret or ""))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    # nothing was revoked by the failed attempts
    ok = live.http.get(live.url("/v1/_probe"), headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200


def test_a_revoked_clients_token_introspects_inactive(live: Live) -> None:
    owner_id, owner_secret, _ = live.client()
    token = _token(live, owner_id, owner_secret)
    admin_id, admin_secret, _ = live.client("admin")
    admin = (admin_id, admin_secret or "")
    seen = live.http.post(live.url("/oauth/introspect"), data={"token": token}, auth=admin)
    assert seen.json()["active"] is True
    with live.runtime.sessions.begin() as db:
        revoke_client(db=db, client_id=owner_id)
    seen = live.http.post(live.url("/oauth/introspect"), data={"token": token}, auth=admin)
    assert seen.json() == {"active": False}
