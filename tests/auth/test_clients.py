"""Client registration: secrets hashed and shown once, public JWKS only, known scopes only."""

from __future__ import annotations

import logging

import pytest
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from hub.api.problems import Problem
from hub.audit.models import AuditEntry
from hub.auth.clients import (
    check_secret,
    create_client,
    get_active,
    revoke_client,
    validate_jwks,
)
from hub.auth.models import OAuthClient
from hub.runtime import Runtime
from tests.support.factories import org


@pytest.fixture
def org_id(runtime: Runtime) -> str:
    with runtime.sessions.begin() as db:
        return org(db, runtime.policy, "Partner NGO").id


def test_a_secret_client_gets_a_secret_stored_only_as_an_argon2id_hash(
    runtime: Runtime, org_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with runtime.sessions.begin() as db:
        client, secret = create_client(
            db=db, organization_id=org_id, scope="cases:read  cases:read referrals:write", name="x"
        )
        client_id = client.client_id
    assert secret is not None and len(secret) >= 43
    with runtime.sessions() as db:
        row = db.get(OAuthClient, client_id)
        assert row is not None
        assert row.scope == "cases:read referrals:write"
        assert row.secret_hash is not None and row.secret_hash.startswith("$argon2id$")
        assert secret not in row.secret_hash
        assert row.jwks is None
        assert check_secret(row, secret)
        assert not check_secret(row, secret + "x")
        assert not check_secret(None, secret)
        entry = db.query(AuditEntry).filter_by(action="client.created").one()
        assert secret not in str(entry.details)
    assert secret not in caplog.text


def test_client_ids_and_secrets_are_random(runtime: Runtime, org_id: str) -> None:
    with runtime.sessions.begin() as db:
        made = [create_client(db=db, organization_id=org_id, scope="cases:read") for _ in range(3)]
    assert len({c.client_id for c, _ in made}) == 3
    assert len({s for _, s in made}) == 3


def test_a_jwks_client_has_no_secret(runtime: Runtime, org_id: str) -> None:
    key = ECKey.generate_key("P-384")
    with runtime.sessions.begin() as db:
        client, secret = create_client(
            db=db,
            organization_id=org_id,
            scope="system/*.read",
            jwks={"keys": [{**key.as_dict(private=False), "kid": "k1"}]},
        )
        assert secret is None and client.secret_hash is None
        assert client.jwks is not None and client.jwks["keys"][0]["kid"] == "k1"
        assert not check_secret(client, "")


@pytest.mark.parametrize("scope", ["cases:delete", "system/Patient.nuke", "", "   "])
def test_unknown_or_empty_scopes_are_refused(runtime: Runtime, org_id: str, scope: str) -> None:
    with runtime.sessions.begin() as db, pytest.raises(Problem) as refused:
        create_client(db=db, organization_id=org_id, scope=scope)
    assert refused.value.status == 422
    assert refused.value.code in ("unknown_value", "invalid_scope")


def test_an_unknown_organisation_is_refused(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db, pytest.raises(Problem) as refused:
        create_client(db=db, organization_id="nope", scope="cases:read")
    assert refused.value.status == 404


@pytest.mark.parametrize(
    "jwks",
    [
        {"keys": [RSAKey.generate_key(2048).as_dict(private=True)]},
        {"keys": [ECKey.generate_key("P-256").as_dict(private=True)]},
        {"keys": [OKPKey.generate_key("Ed25519").as_dict(private=True)]},
        {"keys": [OctKey.generate_key(256).as_dict()]},
        {"keys": [RSAKey.generate_key(1024).as_dict(private=False)]},
        {"keys": [{**ECKey.generate_key("P-256").as_dict(private=False), "use": "enc"}]},
        {"keys": [{**ECKey.generate_key("P-256").as_dict(private=False), "alg": "HS256"}]},
        {"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]},
        {"keys": []},
        {"not": "a jwks"},
        [],
    ],
    ids=[
        "rsa-private",
        "ec-private",
        "okp-private",
        "symmetric",
        "rsa-1024",
        "enc-use",
        "hs256-alg",
        "bad-point",
        "empty",
        "no-keys",
        "list",
    ],
)
def test_bad_jwks_are_refused(jwks: object) -> None:
    with pytest.raises(Problem) as refused:
        validate_jwks(jwks)
    assert refused.value.code == "invalid_jwks"
    # the refusal never echoes private key material
    keys = jwks.get("keys", []) if isinstance(jwks, dict) else []
    for member in keys:
        for name in ("d", "p", "q", "k"):
            if name in member:
                assert member[name] not in str(refused.value.document())


def test_a_public_jwks_is_kept_as_public_members_only() -> None:
    rsa = RSAKey.generate_key(2048).as_dict(private=False)
    okp = OKPKey.generate_key("Ed25519").as_dict(private=False)
    clean = validate_jwks({"keys": [{**rsa, "kid": "r", "alg": "RS384"}, {**okp, "kid": "o"}]})
    assert [k["kid"] for k in clean["keys"]] == ["r", "o"]
    assert clean["keys"][0]["n"] == rsa["n"]


def test_revoked_clients_are_not_active(runtime: Runtime, org_id: str) -> None:
    with runtime.sessions.begin() as db:
        client, _ = create_client(db=db, organization_id=org_id, scope="cases:read")
        client_id = client.client_id
    with runtime.sessions.begin() as db:
        assert get_active(db=db, client_id=client_id) is not None
        revoke_client(db=db, client_id=client_id, actor="admin")
        first = db.get(OAuthClient, client_id)
        assert first is not None and first.revoked_at is not None
        revoked_at = first.revoked_at
        revoke_client(db=db, client_id=client_id)  # again: a no-op
        assert first.revoked_at == revoked_at
    with runtime.sessions() as db:
        assert get_active(db=db, client_id=client_id) is None
        assert db.query(AuditEntry).filter_by(action="client.revoked").count() == 1
    with runtime.sessions.begin() as db, pytest.raises(Problem):
        revoke_client(db=db, client_id="nope")
