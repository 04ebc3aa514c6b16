"""OAuth clients, the hub's token-signing keys, and the token and assertion ledgers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base


class OAuthClient(Base):
    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    # argon2 hash; None for clients that authenticate with private_key_jwt only
    secret_hash: Mapped[str | None] = mapped_column(Text)
    # the client's public keys (a JWKS document) for private_key_jwt
    jwks: Mapped[dict[str, Any] | None]
    scope: Mapped[str] = mapped_column(Text)  # space-separated, as OAuth writes it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class SigningKey(Base):
    """A key the hub signs access tokens with; the private half is encrypted at rest."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # retired keys stop signing but stay in the JWKS until tokens they signed have expired
    retired_at: Mapped[datetime | None]


class RevokedToken(Base):
    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsedAssertion(Base):
    """Client assertion `jti`s seen, kept until the assertion expires, to refuse replays."""

    __tablename__ = "used_assertions"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RateLimitHit(Base):
    """One counted event of a rate limit, shared by every server process and replica.

    The key is stored as its SHA-256: the client ids and addresses the limits are about are not
    kept here. Rows older than their window are swept as new ones are written.
    """

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_window", "bucket", "key", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    bucket: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    # seconds since the epoch: compared across processes, so wall-clock time
    at: Mapped[float] = mapped_column(Float)
