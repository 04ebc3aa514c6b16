"""The hub's token-signing keys: ES256 JWKs, private halves encrypted at rest.

Each key's private JWK is sealed with envelope encryption under a data key of its own (owner
`signing_key:<kid>`), so deleting a pruned key's data key shreds it everywhere. The `kid` is
the RFC 7638 thumbprint, so one kid always names the same public key.

One key is current (signs); rotation retires it, and a retired key stays in the JWKS (and
keeps verifying) until every token it signed has expired.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from typing import Any, Protocol

from joserfc.jwk import ECKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.auth.models import SigningKey
from hub.clock import utcnow
from hub.crypto import envelope
from hub.crypto import service as data_keys
from hub.crypto.keyring import KeyEncryptionKeys
from hub.services import Services

ALG = "ES256"
CURVE = "P-256"
# the only algorithms the hub signs access tokens with, hence the only ones it accepts
SIGNING_ALGS = (ALG,)
# allowance for clock skew between the hub and those verifying its tokens
LEEWAY_SECONDS = 60
# a known key's row (its retirement) is read again after this long
KEY_ROW_SECONDS = 60.0


def _owner(kid: str) -> str:
    return f"signing_key:{kid}"


def _seal(db: Session, keyring: KeyEncryptionKeys, kid: str, private_jwk: dict[str, Any]) -> bytes:
    dk = data_keys.data_key(db=db, keyring=keyring, owner=_owner(kid), create=True)
    plaintext = json.dumps(private_jwk, sort_keys=True).encode()
    return envelope.encrypt(dk, plaintext, table="signing_keys", row=kid, field="private_jwk")


def _open(db: Session, keyring: KeyEncryptionKeys, row: SigningKey) -> ECKey:
    dk = data_keys.data_key(db=db, keyring=keyring, owner=_owner(row.kid))
    plaintext = envelope.decrypt(
        dk, row.private_ciphertext, table="signing_keys", row=row.kid, field="private_jwk"
    )
    return ECKey.import_key(json.loads(plaintext))


def create_signing_key(*, db: Session, keyring: KeyEncryptionKeys) -> SigningKey:
    key = ECKey.generate_key(CURVE, private=True)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": ALG, "use": "sig"}
    row = SigningKey(
        kid=kid,
        alg=ALG,
        private_ciphertext=_seal(db, keyring, kid, key.as_dict(private=True)),
        public_jwk=public,
    )
    db.add(row)
    # flushed so a concurrent creator's row is visible to the "current key" query at once
    db.flush()
    return row


def current_row(*, db: Session) -> SigningKey | None:
    return db.scalar(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc(), SigningKey.kid)
        .limit(1)
    )


def verification_cutoff(token_seconds: int, now: datetime | None = None) -> datetime:
    """Keys retired before this instant can no longer have unexpired tokens out."""
    return (now or utcnow()) - timedelta(seconds=token_seconds + LEEWAY_SECONDS)


def published_rows(*, db: Session, token_seconds: int) -> list[SigningKey]:
    """The current key and the retired keys whose tokens may still be unexpired."""
    cutoff = verification_cutoff(token_seconds)
    return list(
        db.scalars(
            select(SigningKey)
            .where(SigningKey.retired_at.is_(None) | (SigningKey.retired_at > cutoff))
            .order_by(SigningKey.created_at.desc(), SigningKey.kid)
        )
    )


def rotate_signing_key(
    *, db: Session, keyring: KeyEncryptionKeys, token_seconds: int, revoke_previous: bool = False
) -> SigningKey:
    """Make a new current key; the previous one is retired but still served and verified.

    Keys retired long enough ago that no token of theirs can be unexpired are deleted and
    their data keys shredded. `revoke_previous` (a suspected key compromise) deletes the
    previous keys at once, which invalidates every token they signed.
    """
    now = utcnow()
    db.execute(
        update(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .values(retired_at=now)
        .execution_options(synchronize_session="fetch")
    )
    cutoff = now if revoke_previous else verification_cutoff(token_seconds, now)
    stale = db.scalars(
        select(SigningKey).where(
            SigningKey.retired_at.is_not(None), SigningKey.retired_at <= cutoff
        )
    ).all()
    for row in stale:
        data_keys.shred(db=db, owner=_owner(row.kid))
        db.delete(row)
    return create_signing_key(db=db, keyring=keyring)


def jwks_document(rows: list[SigningKey]) -> dict[str, Any]:
    return {"keys": [dict(row.public_jwk) for row in rows]}


class SigningKeys:
    """Per-process access to the keys, caching what never changes for a given kid.

    The current kid is read from the database at every signing, so a rotation made by another
    process (or the CLI) takes effect at once; a decrypted private key and a parsed public key
    are cached by kid, which names one key for ever (it is the key's thumbprint).
    """

    def __init__(self, *, keyring: KeyEncryptionKeys, token_seconds: int) -> None:
        self.keyring = keyring
        self.token_seconds = token_seconds
        self._private: dict[str, ECKey] = {}
        # kid -> (public key, when it was retired, when its row was read)
        self._public: dict[str, tuple[ECKey, datetime | None, float]] = {}
        self._lock = threading.Lock()

    def signing_key(self, *, db: Session) -> tuple[str, ECKey]:
        row = current_row(db=db) or create_signing_key(db=db, keyring=self.keyring)
        with self._lock:
            key = self._private.get(row.kid)
        if key is None:
            key = _open(db, self.keyring, row)
            with self._lock:
                self._private = {row.kid: key}  # only the current one is worth keeping
        return row.kid, key

    def verification_key(self, *, db: Session, kid: str) -> ECKey | None:
        """The public key for `kid` if it is current or retired recently enough.

        A known kid's row is read again at most every KEY_ROW_SECONDS: a key retired meanwhile
        by another process stays valid for a token's lifetime after its retirement anyway, so
        the cut-off is still applied exactly; an unknown kid is looked up every time."""
        with self._lock:
            cached = self._public.get(kid)
        if cached is not None and time.monotonic() - cached[2] < KEY_ROW_SECONDS:
            key, retired_at, _ = cached
        else:
            row = db.execute(
                select(
                    SigningKey.kid, SigningKey.alg, SigningKey.public_jwk, SigningKey.retired_at
                ).where(SigningKey.kid == kid)
            ).one_or_none()
            if row is None or row.alg not in SIGNING_ALGS:
                return None
            key = cached[0] if cached is not None else ECKey.import_key(dict(row.public_jwk))
            if key.is_private or key.thumbprint() != kid:
                return None
            retired_at = row.retired_at
            with self._lock:
                self._public[kid] = (key, retired_at, time.monotonic())
        if retired_at is not None and retired_at <= verification_cutoff(self.token_seconds):
            return None
        return key

    def jwks(self, *, db: Session) -> dict[str, Any]:
        return jwks_document(published_rows(db=db, token_seconds=self.token_seconds))


class SigningServices(Services, Protocol):
    """The services of a hub that signs tokens and webhook notices (the same JWKS)."""

    @property
    def signing_keys(self) -> SigningKeys: ...
