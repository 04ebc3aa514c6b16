"""Console users: created by operators, passwords hashed with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.api.problems import Conflict, Unprocessable
from hub.audit.service import record
from hub.organizations import service as organizations
from hub.users.models import User
from hub.users.roles import Role

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
# verified against when the e-mail is unknown, so timing does not tell which accounts exist
_DUMMY_HASH = _hasher.hash("not a real password, only for constant-time misses")


def create(
    *, db: Session, actor: str, organization_id: str, email: str, password: str, role: str
) -> User:
    if role not in Role.__members__:
        raise Unprocessable(
            "unknown_value", "Unknown role", f"roles: {', '.join(Role)}", vocabulary="roles"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable(
            "weak_password", f"A password needs at least {MIN_PASSWORD_LENGTH} characters"
        )
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise Unprocessable("invalid_email", "Not an e-mail address")
    organizations.get_or_raise(db=db, organization_id=organization_id)
    if db.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict("email_taken", "A user with this e-mail exists")
    user = User(
        organization_id=organization_id,
        email=email,
        password_hash=_hasher.hash(password),
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


def authenticate(*, db: Session, email: str, password: str) -> User | None:
    user = db.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    return user


def set_password(*, db: Session, actor: str, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable(
            "weak_password", f"A password needs at least {MIN_PASSWORD_LENGTH} characters"
        )
    user.password_hash = _hasher.hash(password)
    record(db, actor=actor, action="user.password_set", object_type="user", object_id=user.id)
