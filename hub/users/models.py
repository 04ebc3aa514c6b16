"""People who use the web console, their sessions and their second factor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.clock import utcnow
from hub.db.base import Base, id_column


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]
    # the console's language for this person (`en`, `fr`); None: the browser's Accept-Language
    language: Mapped[str | None] = mapped_column(String(8))
    # TOTP (RFC 6238) secret, sealed with the data key owned by `user:<id>`; set at enrolment
    totp_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled_at: Mapped[datetime | None]
    # the last TOTP time step accepted, so a code cannot be used twice
    totp_last_step: Mapped[int | None]
    # consecutive failed sign-ins, and the lock they lead to
    failed_signins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    last_signin_at: Mapped[datetime | None]


class RecoveryCode(Base):
    """One-time codes that stand in for the second factor (argon2 hashes, used once)."""

    __tablename__ = "user_recovery_codes"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class UserSession(Base):
    """A console session, server-side so it can be revoked. The cookie carries a random token;
    only its SHA-256 is stored (the token is 256 random bits: no salt needed to resist guessing).
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token), hex
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the absolute end, whatever the activity
    expires_at: Mapped[datetime]
    # when the second factor was passed; None: signed in with the password only so far
    second_factor_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    # loaded with the session: every console request needs the person behind it
    user: Mapped[User] = relationship(lazy="joined")
