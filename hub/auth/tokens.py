"""Access tokens: JWTs the hub signs (RFC 9068 profile), their checks and their revocation.

Claims: `iss` the hub's public URL; `aud` the same URL (the hub is both the authorization
server and the only resource server its tokens are for); `sub` and `client_id` the client;
`org` its organisation; `scope`; `iat`, `nbf`, `exp`; a random `jti` for revocation. The
header carries `typ: at+jwt` and the `kid`, so no other JWT the hub signs passes for one.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.auth import scopes as scope_names
from hub.auth.clients import held_scopes, token_holder
from hub.auth.keys import LEEWAY_SECONDS, SIGNING_ALGS, SigningKeys
from hub.auth.models import OAuthClient, RevokedToken
from hub.clock import utcnow

TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
MAX_TOKEN_LENGTH = 4096


class InvalidToken(Exception):
    """The token is not one the hub accepts. The reason is for logs, never the token."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a partner system's client acting for its organisation, a person signed in
    to the console (`client_id` empty), or a client acting for a person of its organisation."""

    client_id: str
    organization_id: str
    scopes: tuple[str, ...]
    jti: str = ""
    # the person, where one is known: the console's user, or the user a client acts for
    user_id: str | None = None

    def has_scope(self, scope: str) -> bool:
        return scope_names.satisfies(self.scopes, scope)

    @property
    def actor(self) -> str:
        """How the audit log, lifecycle events and reviews name this caller: the person with
        their organisation where a person is known (`user:<id>@<organisation id>`), then the
        client that carried the request (`client:<id>`)."""
        client = f"client:{self.client_id}" if self.client_id else ""
        if self.user_id is None:
            return client
        person = f"{PERSON_PREFIX}{self.user_id}@{self.organization_id}"
        return f"{person} via {client}" if client else person


PERSON_PREFIX = "user:"
CLIENT_PREFIX = "client:"


def person_of(actor: str | None) -> str | None:
    """The user id an actor string names, or None for a client or the hub itself."""
    if not actor or not actor.startswith(PERSON_PREFIX):
        return None
    return actor[len(PERSON_PREFIX) :].split("@", 1)[0].split(" ", 1)[0] or None


# actors that name the hub itself or one of its connectors, never a party's client or person
HUB_ACTOR_PREFIXES = ("system:", "connector:")
ORGANIZATION_PREFIX = "organization:"


def actor_seen_by(
    actor: str,
    *,
    organization_id: str | None,
    viewer: str | None,
    db: Session | None = None,
) -> str:
    """How an event's actor is shown to the organisation `viewer` (None: unknown, shown least).

    Its own organisation's actors it sees as they are; another organisation's only as
    `organization:<id>` — never the client id (anyone may claim a client id at the token
    endpoint) nor the person. `organization_id` is the organisation the event was recorded
    for; when there is none, a person's actor carries it (`user:<id>@<organisation>`), and a
    bare client's is looked up (with `db`).
    """
    if actor.startswith(HUB_ACTOR_PREFIXES):
        return actor
    owner = organization_id
    if owner is None and actor.startswith(PERSON_PREFIX) and "@" in actor:
        owner = actor.split("@", 1)[1].split(" ", 1)[0] or None
    if owner is None and db is not None and actor.startswith(CLIENT_PREFIX):
        client = db.get(OAuthClient, actor[len(CLIENT_PREFIX) :])
        owner = client.organization_id if client is not None else None
    if owner is not None and owner == viewer:
        return actor
    return f"{ORGANIZATION_PREFIX}{owner or 'unknown'}"


def _now() -> int:
    return int(utcnow().timestamp())


def issue(
    *,
    db: Session,
    keys: SigningKeys,
    issuer: str,
    audience: str,
    client: OAuthClient,
    scope: str,
    lifetime: int,
) -> dict[str, Any]:
    """Sign a token for the client; returns the RFC 6749 token response."""
    kid, key = keys.signing_key(db=db)
    now = _now()
    claims = {
        "iss": issuer,
        "sub": client.client_id,
        "aud": audience,
        "client_id": client.client_id,
        "org": client.organization_id,
        "scope": scope,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(24),
    }
    header = {"alg": key_alg(), "kid": kid, "typ": TOKEN_TYPE}
    token = jwt.encode(header, claims, key, algorithms=list(SIGNING_ALGS))
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope,
    }


def key_alg() -> str:
    return SIGNING_ALGS[0]


def verify(
    *, db: Session, keys: SigningKeys, token: str, issuer: str, audience: str
) -> dict[str, Any]:
    """The token's claims if the hub signed it, for this audience, unexpired and unrevoked."""
    claims = verify_signed(db=db, keys=keys, token=token, issuer=issuer, audience=audience)
    if is_revoked(db=db, jti=claims["jti"]):
        raise InvalidToken("revoked")
    return claims


class _Verified:
    """Tokens whose signature this process has checked, by their SHA-256 (never the token
    itself: it is a credential): the kid that signed each and its claims.

    A client sends the same token with every request for the token's lifetime, and parsing it
    and checking its signature was a third of authenticating a request. The same bytes under the
    same kid (the thumbprint of its public key) verify the same way every time, so only that is
    skipped: the key is still looked up on each use (a key retired past its cut-off refuses the
    token), and the claims are checked each time (expiry, issuer, audience)."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[bytes, tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, digest: bytes) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            return self._entries.get(digest)

    def keep(self, digest: bytes, kid: str, claims: dict[str, Any]) -> None:
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                # the oldest half goes (dicts keep their insertion order)
                for old in list(self._entries)[: self.MAX_ENTRIES // 2]:
                    del self._entries[old]
            self._entries[digest] = (kid, claims)


_verified = _Verified()


def verify_signed(
    *, db: Session, keys: SigningKeys, token: str, issuer: str, audience: str
) -> dict[str, Any]:
    """The token's claims if the hub signed it, for this audience and unexpired. Whether it was
    revoked is `principal_for`'s to say, in the same round trip as its client."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("empty or oversized")
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
    seen = _verified.get(digest)
    if seen is not None:
        kid, signed = seen
        if keys.verification_key(db=db, kid=kid) is None:
            raise InvalidToken("unknown or expired key")
        return _checked_claims(dict(signed), issuer=issuer, audience=audience)
    try:
        header = extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError):
        raise InvalidToken("not a compact JWS") from None
    # checked before any key is looked up: `none`, HS256 with the public key as a secret and
    # every other algorithm the hub does not sign with are refused here
    if header.get("alg") not in SIGNING_ALGS:
        raise InvalidToken("algorithm not accepted")
    if header.get("typ") != TOKEN_TYPE:
        raise InvalidToken("not an access token")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("no kid")
    key = keys.verification_key(db=db, kid=kid)
    if key is None:
        raise InvalidToken("unknown or expired key")
    try:
        decoded = jwt.decode(token, key, algorithms=list(SIGNING_ALGS))
    except (JoseError, ValueError, TypeError):
        raise InvalidToken("signature or claims invalid") from None
    claims = _checked_claims(decoded.claims, issuer=issuer, audience=audience)
    _verified.keep(digest, kid, dict(claims))
    return claims


def _checked_claims(claims: dict[str, Any], *, issuer: str, audience: str) -> dict[str, Any]:
    """`claims` of a token whose signature was verified, if they hold what an access token
    must, for this issuer and audience, and it is unexpired now."""
    try:
        registry = jwt.JWTClaimsRegistry(
            now=_now,
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
            org={"essential": True},
            client_id={"essential": True},
        )
        registry.validate(claims)
    except (JoseError, ValueError, TypeError):
        raise InvalidToken("signature or claims invalid") from None
    for name in ("sub", "jti", "org", "client_id"):
        if not isinstance(claims.get(name), str):
            raise InvalidToken(f"claim {name} is not a string")
    if claims["sub"] != claims["client_id"]:
        raise InvalidToken("sub is not the client")
    if not isinstance(claims.get("scope", ""), str):
        raise InvalidToken("scope is not a string")
    return claims


def principal_for(*, db: Session, claims: dict[str, Any]) -> Principal:
    """The caller behind verified claims; its client must still be active, and the token not
    revoked.

    Scopes are the token's, narrowed to what the client holds now, so taking a scope away
    from a client (or revoking it) takes effect on tokens already issued.
    """
    found = token_holder(db=db, client_id=claims["client_id"], jti=claims["jti"])
    if found is None:
        raise InvalidToken("client revoked or unknown")
    if found.token_revoked:
        raise InvalidToken("revoked")
    if found.organization_id != claims["org"]:
        raise InvalidToken("organisation does not match the client")
    granted = scope_names.within(
        claims.get("scope", ""), held_scopes(found, found.organization_kind)
    )
    return Principal(
        client_id=found.client_id,
        organization_id=found.organization_id,
        scopes=granted,
        jti=claims["jti"],
    )


def is_revoked(*, db: Session, jti: str) -> bool:
    return db.scalar(select(RevokedToken.jti).where(RevokedToken.jti == jti)) is not None


def revoke(*, db: Session, jti: str, expires_at: int) -> None:
    """Record the token as revoked until it would have expired anyway."""
    purge_expired(db=db)  # the ledger only needs tokens that could still be presented
    if len(jti) > 64 or is_revoked(db=db, jti=jti):
        return
    try:
        # a savepoint, so a concurrent revocation of the same token is not an error
        with db.begin_nested():
            db.add(RevokedToken(jti=jti, expires_at=datetime.fromtimestamp(expires_at, UTC)))
    except IntegrityError:
        pass


def purge_expired(*, db: Session) -> int:
    """Drop ledger rows for tokens that have expired anyway (with the skew allowance)."""
    cutoff = utcnow() - timedelta(seconds=LEEWAY_SECONDS)
    result = db.execute(delete(RevokedToken).where(RevokedToken.expires_at < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]
