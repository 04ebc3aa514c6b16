"""Resource protection: what a protected route answers to good, bad and insufficient tokens."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from hub.auth.clients import revoke_client
from hub.auth.keys import rotate_signing_key
from hub.auth.tokens import Principal
from tests.support.live_hub import Live


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(live: Live, scope: str = "cases:read", client_scope: str | None = None) -> str:
    client_id, secret, _ = live.client(client_scope or scope)
    response = live.http.post(
        live.token_url,
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret or ""),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
    )


def _hub_signed(live: Live, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token signed with the hub's real current key: only the claims can be wrong."""
    with live.runtime.sessions.begin() as db:
        kid, key = live.authority.keys.signing_key(db=db)
    return jwt.encode({"alg": "ES256", "kid": kid, "typ": "at+jwt", **header}, claims, key)


def _get(live: Live, token: str | None, path: str = "/v1/_probe") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return live.http.get(live.url(path), headers=headers)


def _assert_invalid(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_token"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_a_good_token_yields_the_principal(live: Live) -> None:
    client_id, secret, org_id = live.client("cases:read referrals:read")
    token = live.http.post(
        live.token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret or "")
    ).json()["access_token"]
    response = _get(live, token)
    assert response.status_code == 200
    assert response.json() == {
        "client_id": client_id,
        "organization_id": org_id,
        "scopes": ["cases:read", "referrals:read"],
    }


def test_no_token_is_401_with_a_bare_challenge(live: Live) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}):
        response = live.http.get(live.url("/v1/_probe"), headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["code"] == "unauthorized"


def test_a_missing_scope_is_403_insufficient_scope(live: Live) -> None:
    token = _token(live, "referrals:read")
    response = _get(live, token)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "insufficient_scope"
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="cases:read"'
    )
    # a route that asks for no particular scope takes the same token
    assert _get(live, token, "/v1/_probe/any").status_code == 200


def test_garbage_is_refused(live: Live) -> None:
    for junk in ("garbage", "a.b.c", "x" * 5000, _b64(b"{}") + ".." + _b64(b"x")):
        _assert_invalid(_get(live, junk))


def test_alg_none_is_refused(live: Live) -> None:
    header, claims = _parts(_token(live))
    header["alg"] = "none"
    unsigned = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode()) + "."
    _assert_invalid(_get(live, unsigned))


def test_hs256_keyed_with_the_public_key_is_refused(live: Live) -> None:
    good = _token(live)
    header, claims = _parts(good)
    jwks = live.http.get(live.url("/.well-known/jwks.json")).json()
    public = json.dumps(jwks["keys"][0]).encode()
    forged = jwt.encode(
        {**header, "alg": "HS256"}, claims, OctKey.import_key(public), algorithms=["HS256"]
    )
    _assert_invalid(_get(live, forged))


def test_a_token_signed_by_another_key_is_refused(live: Live) -> None:
    header, claims = _parts(_token(live))
    forged = jwt.encode(header, claims, ECKey.generate_key("P-256"), algorithms=["ES256"])
    _assert_invalid(_get(live, forged))


def test_an_altered_payload_is_refused(live: Live) -> None:
    good = _token(live, "cases:read", client_scope="cases:read")
    head, _, signature = good.split(".")
    _, claims = _parts(good)
    claims["scope"] = "cases:read admin"
    altered = head + "." + _b64(json.dumps(claims).encode()) + "." + signature
    _assert_invalid(_get(live, altered))


WRONG_CLAIMS: dict[str, dict[str, Any]] = {
    "aud": {"aud": "https://other-hub.example"},
    "iss": {"iss": "https://other-hub.example"},
    "expired": {"exp": -61},  # seconds from now: past the skew allowance too
    "typ": {"typ": "JWT"},
    "org": {"org": "another-organisation"},
    "sub": {"sub": "another-client"},
}


def test_wrong_claims_under_the_hubs_own_key_are_refused(live: Live) -> None:
    _, claims = _parts(_token(live))
    # the same claims untouched do pass: each change is what is refused
    assert _get(live, _hub_signed(live, {}, claims)).status_code == 200
    for name, wrong in WRONG_CLAIMS.items():
        change = dict(wrong)
        header = {"typ": change.pop("typ")} if "typ" in change else {}
        if "exp" in change:
            change["exp"] = int(time.time()) + change["exp"]
        response = _get(live, _hub_signed(live, header, {**claims, **change}))
        assert response.status_code == 401, name
        _assert_invalid(response)


def test_a_token_expires(live: Live, move_clock: Callable[[timedelta], None]) -> None:
    token = _token(live)
    assert _get(live, token).status_code == 200
    move_clock(timedelta(seconds=900 + 61))
    _assert_invalid(_get(live, token))


def test_a_revoked_clients_tokens_stop_at_once(live: Live) -> None:
    token = _token(live)
    client_id = _parts(token)[1]["client_id"]
    with live.runtime.sessions.begin() as db:
        revoke_client(db=db, client_id=client_id)
    _assert_invalid(_get(live, token))


def test_tokens_of_the_previous_key_still_validate_after_rotation(live: Live) -> None:
    before = _token(live)
    old_kid = _parts(before)[0]["kid"]
    with live.runtime.sessions.begin() as db:
        rotate_signing_key(db=db, keyring=live.runtime.keyring, token_seconds=900)
    after = _token(live)
    new_kid = _parts(after)[0]["kid"]
    assert new_kid != old_kid
    assert _get(live, before).status_code == 200
    assert _get(live, after).status_code == 200
    kids = {k["kid"] for k in live.http.get(live.url("/.well-known/jwks.json")).json()["keys"]}
    assert kids == {old_kid, new_kid}


def test_a_compromised_key_revoked_at_rotation_stops_its_tokens(live: Live) -> None:
    before = _token(live)
    with live.runtime.sessions.begin() as db:
        rotate_signing_key(
            db=db, keyring=live.runtime.keyring, token_seconds=900, revoke_previous=True
        )
    _assert_invalid(_get(live, before))
    assert _get(live, _token(live)).status_code == 200


def test_routes_show_their_scope_in_openapi(live: Live) -> None:
    document = live.http.get(live.url("/openapi.json")).json()
    assert document["paths"]["/v1/_probe"]["get"]["security"] == [{"oauth2": ["cases:read"]}]
    assert document["paths"]["/v1/_probe/any"]["get"]["security"] == [{"oauth2": []}]
    scheme = document["components"]["securitySchemes"]["oauth2"]
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
    assert "cases:read" in scheme["flows"]["clientCredentials"]["scopes"]


def test_principal_scopes_follow_the_smart_wildcard() -> None:
    principal = Principal("c", "o", ("system/*.read", "cases:read"))
    assert principal.has_scope("system/Task.read")
    assert not principal.has_scope("system/Task.write")
    assert not principal.has_scope("cases:write")
