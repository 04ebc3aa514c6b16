"""The token endpoint, driven by a real OAuth client (authlib's httpx integration)."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from hub.auth.clients import revoke_client
from hub.auth.keys import SIGNING_ALGS
from tests.support.live_hub import TLS, Live

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class SmartPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
    """authlib's client-side private_key_jwt, with 5-minute assertions as SMART asks.

    (authlib's own default is one hour, which the hub refuses.)
    """

    def sign(self, auth: Any, token_endpoint: str) -> str:
        self.claims = {"exp": int(time.time()) + 300}
        return str(super().sign(auth, token_endpoint))


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _header(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def _probe(live: Live, token: str) -> httpx.Response:
    return live.http.get(live.url("/v1/_probe"), headers={"Authorization": f"Bearer {token}"})


def _jwks_client(live: Live, key: ECKey | RSAKey, scope: str = "cases:read") -> str:
    public = {**key.as_dict(private=False), "kid": key.thumbprint()}
    client_id, secret, _ = live.client(scope, jwks={"keys": [public]})
    assert secret is None
    return client_id


def _assertion(
    key: ECKey | RSAKey, client_id: str, audience: str, alg: str = "ES384", **claims: Any
) -> str:
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 300}
    body["jti"] = claims.pop("jti", f"jti-{time.monotonic_ns()}")
    body.update(claims)
    return jwt.encode({"alg": alg, "kid": key.thumbprint()}, body, key, algorithms=[alg])


def _assert_with(live: Live, assertion: str, **form: str) -> httpx.Response:
    return live.http.post(
        live.token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            **form,
        },
    )


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_secret_clients_get_a_signed_token_with_the_right_claims(live: Live, method: str) -> None:
    client_id, secret, org_id = live.client("cases:read referrals:read")
    with OAuth2Client(client_id, secret, token_endpoint_auth_method=method, verify=TLS) as oauth:
        token = oauth.fetch_token(live.token_url, grant_type="client_credentials")
        assert token["token_type"].lower() == "bearer"
        assert token["expires_in"] == 900
        claims = _claims(token["access_token"])
        assert claims["iss"] == live.base_url
        assert claims["aud"] == live.base_url
        assert claims["sub"] == claims["client_id"] == client_id
        assert claims["org"] == org_id
        assert claims["scope"] == "cases:read referrals:read"
        assert claims["exp"] - claims["iat"] == 900
        assert abs(claims["iat"] - time.time()) < 5
        assert len(claims["jti"]) >= 20
        header = _header(token["access_token"])
        assert header["alg"] in SIGNING_ALGS and header["typ"] == "at+jwt"
        # the token is one the hub's own resource protection accepts
        response = oauth.get(live.url("/v1/_probe"))
        assert response.status_code == 200, response.text
        assert response.json()["organization_id"] == org_id


@pytest.mark.parametrize("kind", ["ES384", "RS384"])
def test_private_key_jwt_client_gets_a_token(live: Live, kind: str) -> None:
    key = ECKey.generate_key("P-384") if kind == "ES384" else RSAKey.generate_key(2048)
    client_id = _jwks_client(live, key, "cases:read system/*.read")
    oauth = OAuth2Client(client_id, key, token_endpoint_auth_method="private_key_jwt", verify=TLS)
    oauth.register_client_auth_method(SmartPrivateKeyJWT(live.token_url, alg=kind))
    with oauth:
        token = oauth.fetch_token(
            live.token_url, grant_type="client_credentials", scope="cases:read"
        )
        assert _claims(token["access_token"])["scope"] == "cases:read"
        assert oauth.get(live.url("/v1/_probe")).status_code == 200


def test_a_requested_subset_is_granted_and_no_scope_means_all(live: Live) -> None:
    client_id, secret, _ = live.client("cases:read cases:write referrals:read")
    with OAuth2Client(client_id, secret, verify=TLS) as oauth:
        some = oauth.fetch_token(
            live.token_url, grant_type="client_credentials", scope="cases:read"
        )
        assert some["scope"] == "cases:read"
        every = oauth.fetch_token(live.token_url, grant_type="client_credentials")
        assert every["scope"] == "cases:read cases:write referrals:read"


def test_a_scope_outside_the_clients_is_refused(live: Live) -> None:
    client_id, secret, _ = live.client("cases:read")
    with OAuth2Client(client_id, secret, verify=TLS) as oauth, pytest.raises(OAuthError) as refused:
        oauth.fetch_token(
            live.token_url, grant_type="client_credentials", scope="cases:read cases:write"
        )
    assert refused.value.error == "invalid_scope"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_bad_secrets_are_refused(live: Live, method: str) -> None:
    client_id, secret, _ = live.client()
    assert secret is not None
    for wrong_id, wrong_secret in [
        (client_id, secret[:-2] + "xx"),
        (client_id, ""),
        ("no-such-client", secret),
    ]:
        with OAuth2Client(
            wrong_id, wrong_secret, token_endpoint_auth_method=method, verify=TLS
        ) as oauth:
            with pytest.raises(OAuthError) as refused:
                oauth.fetch_token(live.token_url, grant_type="client_credentials")
            assert refused.value.error in ("invalid_client", "invalid_request")


def test_a_jwks_client_has_no_secret_to_use(live: Live) -> None:
    client_id = _jwks_client(live, ECKey.generate_key("P-384"))
    response = live.http.post(
        live.token_url, data={"grant_type": "client_credentials"}, auth=(client_id, "guess")
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_replayed_assertion_is_refused(live: Live) -> None:
    key = ECKey.generate_key("P-384")
    client_id = _jwks_client(live, key)
    assertion = _assertion(key, client_id, live.token_url, jti="once-only")
    first = _assert_with(live, assertion)
    assert first.status_code == 200, first.text
    again = _assert_with(live, assertion)
    assert again.status_code in (400, 401)
    assert again.json()["error"] == "invalid_client"
    # a fresh jti with the same key is fine: it is the replay that is refused
    assert _assert_with(live, _assertion(key, client_id, live.token_url)).status_code == 200


BAD_ASSERTIONS: dict[str, Callable[[int, str], dict[str, Any]]] = {
    "lives an hour": lambda now, base: {"exp": now + 3600},
    "beyond 5 minutes and the skew": lambda now, base: {"exp": now + 301 + 60},
    "exp - iat > 300": lambda now, base: {"iat": now - 100, "exp": now + 250},
    "expired": lambda now, base: {"exp": now - 120},
    "another audience": lambda now, base: {"aud": "https://elsewhere.example/oauth/token"},
    "the issuer as audience": lambda now, base: {"aud": base},
    "iss is not the client": lambda now, base: {"iss": "someone-else"},
}


def test_bad_assertions_are_refused(live: Live) -> None:
    # one server for all the cases: each starts from a good assertion and breaks one thing
    key = ECKey.generate_key("P-384")
    client_id = _jwks_client(live, key)
    for name, change in BAD_ASSERTIONS.items():
        claims = change(int(time.time()), live.base_url)
        response = _assert_with(live, _assertion(key, client_id, live.token_url, **claims))
        assert response.status_code in (400, 401), (name, response.text)
        assert response.json()["error"] == "invalid_client", name
    assert _assert_with(live, _assertion(key, client_id, live.token_url)).status_code == 200


def test_an_assertion_signed_by_another_key_or_alg_is_refused(live: Live) -> None:
    key = ECKey.generate_key("P-384")
    client_id = _jwks_client(live, key)
    other = ECKey.generate_key("P-384")
    forged = jwt.encode(
        {"alg": "ES384", "kid": key.thumbprint()},
        {
            "iss": client_id,
            "sub": client_id,
            "aud": live.token_url,
            "exp": int(time.time()) + 60,
            "jti": "x1",
        },
        other,
        algorithms=["ES384"],
    )
    assert _assert_with(live, forged).json()["error"] == "invalid_client"
    unsigned = (
        base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
        + "."
        + forged.split(".")[1]
        + "."
    )
    assert _assert_with(live, unsigned).json()["error"] == "invalid_client"


def test_a_revoked_client_gets_no_token(live: Live) -> None:
    client_id, secret, _ = live.client()
    with OAuth2Client(client_id, secret, verify=TLS) as oauth:
        token = oauth.fetch_token(live.token_url, grant_type="client_credentials")
        with live.runtime.sessions.begin() as db:
            revoke_client(db=db, client_id=client_id)
        with pytest.raises(OAuthError) as refused:
            oauth.fetch_token(live.token_url, grant_type="client_credentials")
        assert refused.value.error == "invalid_client"
    # and what it already held stops working at once
    assert _probe(live, token["access_token"]).status_code == 401


def test_only_client_credentials_and_forms_are_accepted(live: Live) -> None:
    client_id, secret, _ = live.client()
    password = live.http.post(
        live.token_url,
        data={"grant_type": "password", "username": "a", "password": "b"},
        auth=(client_id, secret or ""),
    )
    assert password.status_code == 400
    assert password.json()["error"] == "unsupported_grant_type"
    as_json = live.http.post(
        live.token_url, json={"grant_type": "client_credentials"}, auth=(client_id, secret or "")
    )
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    repeated = live.http.post(
        live.token_url,
        content="grant_type=client_credentials&scope=cases:read&scope=admin",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(client_id, secret or ""),
    )
    assert repeated.status_code == 400 and repeated.json()["error"] == "invalid_request"


def test_failed_token_requests_are_limited_per_client_and_source(start_live: Any) -> None:
    live = start_live(token_rate_limit="3/minute")
    client_id, secret, _ = live.client()
    other_id, other_secret, _ = live.client()
    form = {"grant_type": "client_credentials"}
    # successes are not failures: they do not use up the allowance for mistakes
    codes = [
        live.http.post(live.token_url, data=form, auth=(client_id, secret or "")).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 200]
    # wrong secrets count: guessing is what the limit is for
    codes = [
        live.http.post(live.token_url, data=form, auth=(client_id, "wrong")).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    # this source is now over the limit for this client (tests/auth/test_token_limits.py: an
    # other source is not)
    limited = live.http.post(live.token_url, data=form, auth=(client_id, secret or ""))
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json()["error"] == "temporarily_unavailable"
    # another client is not affected
    other = live.http.post(live.token_url, data=form, auth=(other_id, other_secret or ""))
    assert other.status_code == 200


def test_secrets_tokens_and_assertions_stay_out_of_logs(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client_id, secret, _ = live.client()
    token = live.http.post(
        live.token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret or "")
    ).json()["access_token"]
    live.http.post(
        live.token_url, data={"grant_type": "client_credentials"}, auth=(client_id, "wrong-1")
    )
    key = ECKey.generate_key("P-384")
    jwks_id = _jwks_client(live, key)
    assertion = _assertion(key, jwks_id, live.token_url)
    _assert_with(live, assertion)
    _assert_with(live, assertion)  # replayed: refused, and logged as such at most
    live.http.get(live.url("/v1/_probe"), headers={"Authorization": f"Bearer {token}x"})
    assert caplog.records, "nothing was logged at all: the check would prove nothing"
    text = caplog.text
    for credential in (secret or "", "wrong-1", token, token.split(".")[2], assertion):
        assert credential and credential not in text
