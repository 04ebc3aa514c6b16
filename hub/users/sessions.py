"""Console sessions, kept on the server so that sign-out, `hub users disable` and a password
reset end them at once.

The browser's cookie carries a random token (256 bits); the database keeps only its SHA-256,
so a copy of the table opens no session. A session ends when it is revoked, when it has not
been used for `console_session_idle_minutes`, `console_session_absolute_minutes` after it
began whatever the activity, and as soon as its person is disabled.

An ended session's row is of no use to anyone (the audit log says who signed in and out), so
it goes: a few with every new session (`PURGE_ON_SIGNIN`, so a sign-in never waits on a
large purge), and all of them on the scheduler's pass (`hub.users.scheduled`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.clock import utcnow
from hub.settings import Settings
from hub.users.models import User, UserSession
from hub.users.roles import SECOND_FACTOR_REQUIRED

# last_seen_at is written at most this often: the idle limit is in minutes anyway, and a page
# with several requests should not write the row for each of them
TOUCH_INTERVAL = timedelta(minutes=1)
# token_urlsafe(32) is 43 characters; anything much longer is not one of ours
MAX_TOKEN_LENGTH = 128
# ended sessions removed with each new one: bounded, so a sign-in's cost does not depend on
# how long the scheduler has been away
PURGE_ON_SIGNIN = 50


def token_id(token: str) -> str:
    """The stored id of a cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


def actor_of(user: User) -> str:
    """How the audit log names a person (the same form as `Principal.actor`)."""
    return f"user:{user.id}@{user.organization_id}"


def create(
    *, db: Session, settings: Settings, user: User, second_factor: bool = False
) -> tuple[str, UserSession]:
    """A new session for the person: (the cookie's token, the row). The token is returned
    once and never stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session = UserSession(
        id=token_id(token),
        user_id=user.id,
        user=user,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(minutes=settings.console_session_absolute_minutes),
        second_factor_at=now if second_factor else None,
    )
    db.add(session)
    purge_ended(db=db, settings=settings, limit=PURGE_ON_SIGNIN)
    return token, session


def ended(settings: Settings) -> ColumnElement[bool]:
    """THE rule for a session that can no longer open, as SQL (what `resolve` refuses for its
    row alone: revoked, past its absolute end, or idle too long)."""
    now = utcnow()
    idle = timedelta(minutes=settings.console_session_idle_minutes)
    return or_(
        UserSession.revoked_at.is_not(None),
        UserSession.expires_at <= now,
        UserSession.last_seen_at < now - idle,
    )


def purge_ended(*, db: Session, settings: Settings, limit: int) -> int:
    """Delete up to `limit` ended sessions; returns how many. Rows another transaction is
    purging at the same moment are skipped (PostgreSQL), not waited for."""
    found = db.scalars(
        select(UserSession.id)
        .where(ended(settings))
        .order_by(UserSession.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if found:
        db.execute(delete(UserSession).where(UserSession.id.in_(found)))
    return len(found)


def resolve(*, db: Session, settings: Settings, token: str | None) -> UserSession | None:
    """The live session a cookie's token opens, or None (no token, unknown, revoked, expired,
    idle too long, or its person disabled)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    session = db.get(UserSession, token_id(token))
    if session is None or session.revoked_at is not None:
        return None
    now = utcnow()
    if now >= session.expires_at:
        return None
    if now - session.last_seen_at > timedelta(minutes=settings.console_session_idle_minutes):
        return None
    if session.user.disabled_at is not None:
        return None
    if now - session.last_seen_at >= TOUCH_INTERVAL:
        session.last_seen_at = now
    return session


def mark_second_factor(*, db: Session, session: UserSession) -> None:
    """The session's person has passed their second factor."""
    session.second_factor_at = utcnow()


def needs_second_factor(session: UserSession) -> bool:
    """True until the second factor is passed, for the roles that require one and for anyone
    who has enrolled one anyway."""
    if session.second_factor_at is not None:
        return False
    user = session.user
    return user.role in SECOND_FACTOR_REQUIRED or user.totp_enabled_at is not None


def revoke(*, db: Session, session: UserSession, actor: str, reason: str = "signed_out") -> None:
    """End the session; audited `user.signed_out`, or `user.session_revoked` with the reason."""
    if session.revoked_at is not None:
        return
    session.revoked_at = utcnow()
    if reason == "signed_out":
        record(
            db, actor=actor, action="user.signed_out", object_type="user", object_id=session.user_id
        )
    else:
        record(
            db,
            actor=actor,
            action="user.session_revoked",
            object_type="user",
            object_id=session.user_id,
            details={"reason": reason},
        )


def revoke_all(*, db: Session, user_id: str, actor: str, reason: str = "all_revoked") -> int:
    """End every live session of a person; returns how many there were (audited once)."""
    now = utcnow()
    live = db.scalars(
        select(UserSession).where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
    ).all()
    for session in live:
        session.revoked_at = now
    if live:
        record(
            db,
            actor=actor,
            action="user.session_revoked",
            object_type="user",
            object_id=user_id,
            details={"reason": reason, "sessions": len(live)},
        )
    return len(live)
