"""Access tokens issued and checked in-process, without HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hub.auth import tokens
from hub.auth.clients import create_client
from hub.auth.keys import SigningKeys
from hub.auth.models import OAuthClient, RevokedToken
from hub.runtime import Runtime
from tests.support.factories import org

ISSUER = "https://hub.example"


@pytest.fixture
def keys(runtime: Runtime) -> SigningKeys:
    return SigningKeys(keyring=runtime.keyring, token_seconds=300)


def _issue(runtime: Runtime, keys: SigningKeys, client_scope: str, scope: str) -> tuple[str, str]:
    with runtime.sessions.begin() as db:
        organization = org(db, runtime.policy, f"Org {client_scope}")
        client, _ = create_client(db=db, organization_id=organization.id, scope=client_scope)
        response = tokens.issue(
            db=db,
            keys=keys,
            issuer=ISSUER,
            audience=ISSUER,
            client=client,
            scope=scope,
            lifetime=300,
        )
        return client.client_id, str(response["access_token"])


def _check(runtime: Runtime, keys: SigningKeys, token: str) -> tokens.Principal:
    with runtime.sessions() as db:
        claims = tokens.verify(db=db, keys=keys, token=token, issuer=ISSUER, audience=ISSUER)
        return tokens.principal_for(db=db, claims=claims)


def test_scopes_taken_from_a_client_are_taken_from_its_tokens(
    runtime: Runtime, keys: SigningKeys
) -> None:
    client_id, token = _issue(runtime, keys, "cases:read cases:write", "cases:read cases:write")
    assert _check(runtime, keys, token).scopes == ("cases:read", "cases:write")
    with runtime.sessions.begin() as db:
        row = db.get(OAuthClient, client_id)
        assert row is not None
        row.scope = "cases:read"
    assert _check(runtime, keys, token).scopes == ("cases:read",)


def test_the_revocation_ledger_forgets_expired_tokens(
    runtime: Runtime, keys: SigningKeys, move_clock: Callable[[timedelta], None]
) -> None:
    _, first = _issue(runtime, keys, "cases:read", "cases:read")
    first_claims = _claims(runtime, keys, first)
    with runtime.sessions.begin() as db:
        tokens.revoke(db=db, jti=first_claims["jti"], expires_at=first_claims["exp"])
        tokens.revoke(db=db, jti=first_claims["jti"], expires_at=first_claims["exp"])  # again
    with pytest.raises(tokens.InvalidToken):
        _check(runtime, keys, first)
    move_clock(timedelta(seconds=300 + 61))
    with runtime.sessions.begin() as db:
        tokens.revoke(db=db, jti="another", expires_at=first_claims["exp"] + 10_000)
    with runtime.sessions() as db:
        assert {r.jti for r in db.query(RevokedToken)} == {"another"}


def _claims(runtime: Runtime, keys: SigningKeys, token: str) -> dict[str, int | str]:
    with runtime.sessions() as db:
        return tokens.verify(db=db, keys=keys, token=token, issuer=ISSUER, audience=ISSUER)


def test_a_token_verified_before_is_checked_again_but_for_its_signature(
    runtime: Runtime,
    keys: SigningKeys,
    move_clock: Callable[[timedelta], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, token = _issue(runtime, keys, "cases:read", "cases:read")
    decoded: list[str] = []
    decode = tokens.jwt.decode

    def counted(value: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(value)
        return decode(value, *args, **kwargs)

    monkeypatch.setattr(tokens.jwt, "decode", counted)
    first = _claims(runtime, keys, token)
    assert _claims(runtime, keys, token) == first
    assert len(decoded) == 1  # its signature checked once
    # the claims still are, each time
    with runtime.sessions() as db, pytest.raises(tokens.InvalidToken):
        tokens.verify_signed(db=db, keys=keys, token=token, issuer=ISSUER, audience="https://x")
    # and the key is still looked up: one refused now refuses the token
    with monkeypatch.context() as patched:
        patched.setattr(keys, "verification_key", lambda **_: None)
        with pytest.raises(tokens.InvalidToken):
            _claims(runtime, keys, token)
    # a token one byte apart is verified afresh, and refused
    with pytest.raises(tokens.InvalidToken):
        _claims(runtime, keys, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    assert len(decoded) == 2
    move_clock(timedelta(seconds=300 + 61))
    with pytest.raises(tokens.InvalidToken):
        _claims(runtime, keys, token)
