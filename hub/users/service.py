"""Console users: created by operators, passwords hashed with argon2id.

Signing in (throttling, locks) is `hub.users.signin`; sessions are `hub.users.sessions`; the
second factor is `hub.users.second_factor`.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.api.problems import Conflict, Unprocessable
from hub.audit.service import record
from hub.auth.tokens import Principal
from hub.clock import utcnow
from hub.organizations import service as organizations
from hub.organizations.models import Organization
from hub.users import sessions
from hub.users.models import User
from hub.users.roles import Role, allowed_at, scopes_of

MIN_PASSWORD_LENGTH = 12
LANGUAGES = ("en", "fr")
_hasher = PasswordHasher()


@functools.cache
def dummy_hash() -> str:
    """The hash an unknown e-mail's password is verified against, so timing does not tell
    which accounts exist. Made once, when the app is bound (`hub.app.bind`), before any
    sign-in: not at import, where a worker or a command that never signs anyone in paid a hash
    at the full cost (a fifth of a second of CPU) to start."""
    return _hasher.hash("not a real password, only for constant-time misses")


def _checked_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable(
            "weak_password", f"A password needs at least {MIN_PASSWORD_LENGTH} characters"
        )
    return _hasher.hash(password)


def create(
    *, db: Session, actor: str, organization_id: str, email: str, password: str, role: str
) -> User:
    if role not in Role.__members__:
        raise Unprocessable(
            "unknown_value", "Unknown role", f"roles: {', '.join(Role)}", vocabulary="roles"
        )
    password_hash = _checked_hash(password)
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise Unprocessable("invalid_email", "Not an e-mail address")
    organization = organizations.get_or_raise(db=db, organization_id=organization_id)
    if not allowed_at(role, organization_kind=organization.kind):
        raise Unprocessable(
            "invalid_role", "The hub operator's people are administrators", field="role"
        )
    if find_by_email(db=db, email=email):
        raise Conflict("email_taken", "A user with this e-mail exists")
    user = User(
        organization_id=organization_id,
        email=email,
        password_hash=password_hash,
        role=role,
    )
    db.add(user)
    # flushed for the generated id the audit entry refers to
    db.flush()
    record(
        db,
        actor=actor,
        action="user.created",
        object_type="user",
        object_id=user.id,
        details={"organization_id": organization_id, "role": role},
    )
    return user


def principal_of(*, db: Session, user: User) -> Principal:
    """The person as a caller: their role's scopes at their organisation, in their name."""
    kind = db.scalar(select(Organization.kind).where(Organization.id == user.organization_id))
    return Principal(
        client_id="",
        organization_id=user.organization_id,
        scopes=scopes_of(user.role, organization_kind=kind or ""),
        user_id=user.id,
    )


def find_by_email(*, db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def get_by_ref(*, db: Session, ref: str) -> User | None:
    """A user by id or by e-mail (what an operator types)."""
    ref = ref.strip()
    if not ref:
        return None
    if "@" in ref:
        return find_by_email(db=db, email=ref)
    return db.get(User, ref)


def get_all(*, db: Session, organization_id: str | None = None) -> list[User]:
    query = select(User).order_by(User.organization_id, User.email)
    if organization_id is not None:
        query = query.where(User.organization_id == organization_id)
    return list(db.scalars(query))


def password_matches(user: User | None, password: str) -> bool:
    """Whether the password is the user's; the same argon2 cost when there is no user."""
    try:
        _hasher.verify(user.password_hash if user else dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None


def authenticate(*, db: Session, email: str, password: str) -> User | None:
    """The enabled user with this e-mail and password. No throttling and no lock: the console
    signs in through `hub.users.signin`."""
    user = find_by_email(db=db, email=email)
    if not password_matches(user, password):
        return None
    if user is None or user.disabled_at is not None:
        return None
    return user


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def set_password(*, db: Session, actor: str, user: User, password: str) -> None:
    user.password_hash = _checked_hash(password)
    record(db, actor=actor, action="user.password_set", object_type="user", object_id=user.id)


def reset_password(*, db: Session, actor: str, user: User, password: str) -> int:
    """An operator's reset: the new password, the lock lifted, every session ended (returns how
    many). The second factor is reset apart (`second_factor.reset`), when asked."""
    user.password_hash = _checked_hash(password)
    user.failed_signins = 0
    user.locked_until = None
    ended = sessions.revoke_all(db=db, user_id=user.id, actor=actor, reason="password_reset")
    record(
        db,
        actor=actor,
        action="user.password_reset",
        object_type="user",
        object_id=user.id,
        details={"sessions_revoked": ended},
    )
    return ended


def disable(*, db: Session, actor: str, user: User) -> int:
    """The person can no longer sign in; every session ends now (returns how many)."""
    ended = sessions.revoke_all(db=db, user_id=user.id, actor=actor, reason="disabled")
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        record(
            db,
            actor=actor,
            action="user.disabled",
            object_type="user",
            object_id=user.id,
            details={"sessions_revoked": ended},
        )
    return ended


def enable(*, db: Session, actor: str, user: User) -> None:
    """The person can sign in again, with a clean slate: the attempts made while disabled
    (which count toward the lock) are forgotten and any lock lifted."""
    if user.disabled_at is None:
        return
    user.disabled_at = None
    user.failed_signins = 0
    user.locked_until = None
    record(db, actor=actor, action="user.enabled", object_type="user", object_id=user.id)


def set_language(*, db: Session, actor: str, user: User, language: str | None) -> None:
    """The console's language for this person; None leaves it to the browser."""
    if language is not None and language not in LANGUAGES:
        raise Unprocessable(
            "unknown_value",
            "Unknown language",
            f"languages: {', '.join(LANGUAGES)}",
            vocabulary="languages",
        )
    user.language = language
    record(
        db,
        actor=actor,
        action="user.language_set",
        object_type="user",
        object_id=user.id,
        details={"language": language},
    )
