"""OAuth clients of partner systems: registration, secrets, public keys, revocation.

A client authenticates either with a secret (stored only as an argon2id hash, shown once) or,
when it registers a JWKS, with signed assertions (`private_key_jwt`) and has no secret at all.
"""

from __future__ import annotations

import functools
import json
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from hub.api.problems import NotFound, Unprocessable
from hub.audit.service import record
from hub.auth import scopes as scope_names
from hub.auth.models import OAuthClient, RevokedToken
from hub.clock import utcnow
from hub.organizations.models import Organization

# The secrets are 256 random bits, so the hash has no guessing to slow down; it only keeps a
# leaked table from being usable. A light argon2id setting keeps the token endpoint cheap.
_hasher = PasswordHasher(time_cost=1, memory_cost=19_456, parallelism=1)

# RFC 7517/7518 private members: a registered JWKS carrying any of them is refused
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
CLIENT_KEY_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}) | frozenset(
    {"ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
)
MAX_JWKS_KEYS = 10
MAX_JWKS_BYTES = 32_768
MIN_RSA_BITS = 2048


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


@functools.cache
def dummy_hash() -> str:
    """The hash an unknown client's or a secretless one's secret is verified against, so timing
    leaks neither. Made once, when the app is bound (`hub.app.bind`), not at import (as in
    hub.users.service)."""
    return _hasher.hash(secrets.token_urlsafe(32))


def check_secret(client: OAuthClient | None, secret: str) -> bool:
    """Constant-work check: an unknown client or one without a secret costs a full verify."""
    stored = client.secret_hash if client is not None and client.secret_hash else dummy_hash()
    try:
        ok = _hasher.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return False
    return ok and client is not None and client.secret_hash is not None


def validate_jwks(jwks: Any) -> dict[str, Any]:
    """A JWKS of public signing keys only, as a clean dict; raises Unprocessable otherwise."""

    def refuse(detail: str) -> Unprocessable:
        return Unprocessable("invalid_jwks", "The JWKS is not acceptable", detail)

    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise refuse('expected {"keys": [...]} with at least one key')
    if len(jwks["keys"]) > MAX_JWKS_KEYS:
        raise refuse(f"at most {MAX_JWKS_KEYS} keys")
    if len(json.dumps(jwks)) > MAX_JWKS_BYTES:
        raise refuse(f"at most {MAX_JWKS_BYTES} bytes")
    kids: set[str] = set()
    for index, member in enumerate(jwks["keys"]):
        if not isinstance(member, dict):
            raise refuse(f"key {index} is not an object")
        if PRIVATE_MEMBERS & member.keys():
            # never echo the members' values: they are the partner's private key
            raise refuse(f"key {index} holds private key material; register public keys only")
        if member.get("kty") not in ("RSA", "EC", "OKP"):
            raise refuse(f"key {index}: kty must be RSA, EC or OKP")
        if member.get("use", "sig") != "sig":
            raise refuse(f"key {index}: use must be sig")
        if "alg" in member and member["alg"] not in CLIENT_KEY_ALGS:
            raise refuse(f"key {index}: alg not accepted")
        kid = member.get("kid")
        if kid is not None and (not isinstance(kid, str) or kid in kids):
            raise refuse(f"key {index}: kid must be a unique string")
        if kid is not None:
            kids.add(kid)
    try:
        keyset = KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError, KeyError):
        raise refuse("a key does not parse as a JWK") from None
    for index, key in enumerate(keyset.keys):
        if key.is_private:
            raise refuse(f"key {index} is a private key; register public keys only")
        if isinstance(key, RSAKey) and key.raw_value.key_size < MIN_RSA_BITS:
            raise refuse(f"key {index}: RSA keys need at least {MIN_RSA_BITS} bits")
        if not isinstance(key, RSAKey | ECKey | OKPKey):
            raise refuse(f"key {index}: unsupported key type")
    return {"keys": [key.as_dict(private=False) for key in keyset.keys]}


def create_client(
    *,
    db: Session,
    organization_id: str,
    scope: str | list[str] | tuple[str, ...],
    name: str = "",
    jwks: dict[str, Any] | None = None,
    actor: str = "system",
) -> tuple[OAuthClient, str | None]:
    """Register a client of the organisation; returns it and its secret (None with a JWKS).

    The secret exists in plaintext only in the return value: show it once, never log it.
    """
    try:
        names = scope_names.validate(scope)
    except scope_names.UnknownScope as exc:
        raise Unprocessable(
            "unknown_value", "Unknown scope", " ".join(exc.names), vocabulary="scopes"
        ) from None
    if not names:
        raise Unprocessable("invalid_scope", "A client needs at least one scope")
    organization = db.get(Organization, organization_id)
    if organization is None:
        raise NotFound("organization")
    refused = scope_names.refused_for(names, organization_kind=organization.kind)
    if refused:
        raise Unprocessable(
            "scope_not_allowed",
            "Scope not allowed for this organisation",
            "Only the hub operator's clients hold `admin`, and they hold nothing else: "
            "refused " + " ".join(refused),
            field="scope",
        )
    public_jwks = validate_jwks(jwks) if jwks is not None else None
    secret = None if public_jwks is not None else secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=secrets.token_urlsafe(18),
        organization_id=organization_id,
        name=name[:200],
        secret_hash=hash_secret(secret) if secret is not None else None,
        jwks=public_jwks,
        scope=scope_names.to_string(names),
    )
    db.add(client)
    # flushed so a duplicate or a bad row fails here, and the row's defaults are filled
    db.flush()
    record(
        db,
        actor=actor,
        action="client.created",
        object_type="oauth_client",
        object_id=client.client_id,
        details={
            "organization_id": organization_id,
            "scope": client.scope,
            "auth": "private_key_jwt" if public_jwks is not None else "client_secret",
        },
    )
    return client, secret


def get(*, db: Session, client_id: str) -> OAuthClient | None:
    return db.get(OAuthClient, client_id)


def held_scopes(client: OAuthClient | TokenHolder, organization_kind: str) -> tuple[str, ...]:
    """The scopes the client holds now: those on its row that its organisation may hold (a
    partner's client registered with `admin` before the operator rule holds it no more)."""
    names = scope_names.parse(client.scope)
    return scope_names.held_by(names, organization_kind=organization_kind)


def get_active_with_kind(*, db: Session, client_id: str) -> tuple[OAuthClient, str] | None:
    """The active client and its organisation's kind, in one round trip."""
    row = db.execute(
        select(OAuthClient, Organization.kind)
        .join(Organization, Organization.id == OAuthClient.organization_id)
        .where(OAuthClient.client_id == client_id, OAuthClient.revoked_at.is_(None))
    ).first()
    return (row[0], row[1]) if row is not None else None


@dataclass(frozen=True)
class TokenHolder:
    """What an authenticated request needs of the client behind its token."""

    client_id: str
    organization_id: str
    scope: str  # as registered: `held_scopes` narrows it to what the organisation may hold
    organization_kind: str
    token_revoked: bool


# built once: every authenticated request runs it, and building the statement (and loading
# the whole client row as an ORM object) cost more CPU than the round trip
_TOKEN_HOLDER = (
    select(
        OAuthClient.client_id,
        OAuthClient.organization_id,
        OAuthClient.scope,
        Organization.kind,
        exists().where(RevokedToken.jti == bindparam("jti")),
    )
    .join(Organization, Organization.id == OAuthClient.organization_id)
    .where(OAuthClient.client_id == bindparam("client_id"), OAuthClient.revoked_at.is_(None))
)


def token_holder(*, db: Session, client_id: str, jti: str) -> TokenHolder | None:
    """The active client, its organisation's kind, and whether the token `jti` is revoked:
    what every authenticated request asks, in one round trip."""
    # on the session's connection, not through the ORM's execution (and its autoflush): columns
    # only, asked first thing by a request, before anything is written
    row = db.connection().execute(_TOKEN_HOLDER, {"client_id": client_id, "jti": jti}).first()
    return TokenHolder(row[0], row[1], row[2], row[3], bool(row[4])) if row is not None else None


def get_active(*, db: Session, client_id: str) -> OAuthClient | None:
    """The client if it exists and is not revoked."""
    return db.scalar(
        select(OAuthClient).where(
            OAuthClient.client_id == client_id, OAuthClient.revoked_at.is_(None)
        )
    )


def get_all(*, db: Session, organization_id: str) -> list[OAuthClient]:
    return list(
        db.scalars(
            select(OAuthClient)
            .where(OAuthClient.organization_id == organization_id)
            .order_by(OAuthClient.created_at)
        )
    )


def revoke_client(*, db: Session, client_id: str, actor: str = "system") -> OAuthClient:
    """Revoke the client: no new tokens, and tokens it holds are refused from now on."""
    client = db.get(OAuthClient, client_id)
    if client is None:
        raise NotFound("client")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        record(
            db,
            actor=actor,
            action="client.revoked",
            object_type="oauth_client",
            object_id=client_id,
            details={"organization_id": client.organization_id},
        )
    return client


def rotate_secret(*, db: Session, client_id: str, actor: str = "system") -> str:
    """A new secret for a secret-based client; the old one stops working at once."""
    client = get_active(db=db, client_id=client_id)
    if client is None:
        raise NotFound("client")
    if client.secret_hash is None:
        raise Unprocessable("no_secret", "This client authenticates with keys, not a secret")
    secret = secrets.token_urlsafe(32)
    client.secret_hash = hash_secret(secret)
    record(
        db,
        actor=actor,
        action="client.secret_rotated",
        object_type="oauth_client",
        object_id=client_id,
        details={"organization_id": client.organization_id},
    )
    return secret
