"""The second factor: TOTP (RFC 6238: 30-second steps, 6 digits, one step either side) and
one-time recovery codes.

The TOTP secret is sealed with the data key owned by `user:<id>` (envelope encryption, bound to
`users.totp` of the row); `reset` forgets it and shreds that key. A code's time step is kept
(`totp_last_step`) so the same code, or an older one, is never accepted twice. Recovery codes
are ten characters from an alphabet without look-alikes, shown once at enrolment and stored as
argon2 hashes; each works once.

Wrong codes count toward the same lock as wrong passwords (`hub.users.signin.count_failure`);
the count and the audit entry are written before `SecondFactorRefused` is raised, so the
console's answer commits them.
"""

from __future__ import annotations

import hmac
import re
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.clock import utcnow
from hub.crypto import envelope
from hub.crypto import service as data_keys
from hub.crypto.keyring import KeyEncryptionKeys
from hub.settings import Settings
from hub.users import service, sessions
from hub.users.models import RecoveryCode, User, UserSession
from hub.users.signin import count_failure

DIGITS = 6
INTERVAL = 30
VALID_WINDOW = 1
RECOVERY_CODES = 10
RECOVERY_LENGTH = 10
# no 0/O, 1/I/L: read off paper and typed on a phone
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_RECOVERY_SHAPE = re.compile(f"^[{RECOVERY_ALPHABET}]{{{RECOVERY_LENGTH}}}$")
_TOTP_SHAPE = re.compile(rf"^[0-9]{{{DIGITS}}}$")
# a recovery code holds ~50 random bits: a light argon2 is enough, and ten are hashed at once
_recovery_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


class SecondFactorRefused(Exception):
    """A refused code; `code` is `invalid_code` or `locked`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def is_enrolled(user: User) -> bool:
    return user.totp_enabled_at is not None


def _owner(user: User) -> str:
    return f"user:{user.id}"


def _seal(db: Session, keyring: KeyEncryptionKeys, user: User, secret: str) -> bytes:
    key = data_keys.data_key(db=db, keyring=keyring, owner=_owner(user), create=True)
    return envelope.encrypt(key, secret.encode(), table="users", row=user.id, field="totp")


def _open(db: Session, keyring: KeyEncryptionKeys, user: User) -> str:
    if user.totp_ciphertext is None:
        raise ValueError("no TOTP secret: enrolment has not begun")
    key = data_keys.data_key(db=db, keyring=keyring, owner=_owner(user))
    plaintext = envelope.decrypt(
        key, user.totp_ciphertext, table="users", row=user.id, field="totp"
    )
    return plaintext.decode()


def begin_enrolment(*, db: Session, keyring: KeyEncryptionKeys, user: User) -> str:
    """A new secret, sealed and kept pending until a code from it confirms the enrolment."""
    if is_enrolled(user):
        raise ValueError("already enrolled: reset the second factor first")
    secret = pyotp.random_base32()
    user.totp_ciphertext = _seal(db, keyring, user, secret)
    user.totp_last_step = None
    return secret


def pending_secret(*, db: Session, keyring: KeyEncryptionKeys, user: User) -> str:
    """The secret `begin_enrolment` sealed, to show again after a wrong code (a new one if
    enrolment had not begun)."""
    if is_enrolled(user):
        raise ValueError("already enrolled")
    if user.totp_ciphertext is None:
        return begin_enrolment(db=db, keyring=keyring, user=user)
    return _open(db, keyring, user)


def provisioning_uri(*, user: User, secret: str, issuer: str = "Referral hub") -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=user.email, issuer_name=issuer
    )


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").upper()


def _totp_step(secret: str, code: str, after: int | None) -> int | None:
    """The time step the code belongs to (this one or one either side), if later than
    `after`; None otherwise."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    now = utcnow()
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _new_recovery_codes(db: Session, user: User) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]
    for code in codes:
        db.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hasher.hash(code)))
    # shown in two halves, easier to copy; the dash is ignored when typed back
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def _use_recovery_code(db: Session, user: User, code: str) -> int | None:
    """Marks the matching unused code used; returns how many are left, or None."""
    unused = db.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    for row in unused:
        try:
            _recovery_hasher.verify(row.code_hash, code)
        except (VerificationError, InvalidHashError):
            continue
        row.used_at = utcnow()
        return len(unused) - 1
    return None


def _refuse_if_locked(db: Session, user: User, actor: str) -> None:
    if service.is_locked(user):
        _failed(db, user, actor, reason="locked")
        raise SecondFactorRefused("locked")


def _failed(db: Session, user: User, actor: str, *, reason: str, step: str = "sign_in") -> None:
    record(
        db,
        actor=actor,
        action="user.second_factor_failed",
        object_type="user",
        object_id=user.id,
        details={"reason": reason, "user_id": user.id, "during": step},
    )


def _refuse(
    db: Session,
    settings: Settings | None,
    user: User,
    session: UserSession,
    actor: str,
    *,
    step: str,
) -> SecondFactorRefused:
    """Writes a wrong code down (the count, the lock, the audit) and gives what to raise."""
    _failed(db, user, actor, reason="invalid_code", step=step)
    if count_failure(db=db, settings=settings, user=user, actor=actor):
        # locked: the half-open session goes too, so the password is needed again afterwards
        sessions.revoke(db=db, session=session, actor=actor, reason="locked")
        return SecondFactorRefused("locked")
    return SecondFactorRefused("invalid_code")


def _passed(db: Session, user: User, session: UserSession) -> None:
    user.failed_signins = 0
    sessions.mark_second_factor(db=db, session=session)


def confirm_enrolment(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    user: User,
    session: UserSession,
    code: str,
    actor: str,
    settings: Settings | None = None,
) -> list[str]:
    """Enrols the pending secret when the code matches; returns the new recovery codes (shown
    once). `settings` gives the lock's limits (their defaults without it)."""
    _refuse_if_locked(db, user, actor)
    if is_enrolled(user):
        raise ValueError("already enrolled")
    given = _normalised(code)
    step = None
    # nothing pending (the enrolment page was never shown): no code can be right
    if user.totp_ciphertext is not None and _TOTP_SHAPE.match(given):
        step = _totp_step(_open(db, keyring, user), given, None)
    if step is None:
        raise _refuse(db, settings, user, session, actor, step="enrolment")
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _new_recovery_codes(db, user)
    _passed(db, user, session)
    record(
        db,
        actor=actor,
        action="user.second_factor_enrolled",
        object_type="user",
        object_id=user.id,
        details={"method": "totp", "recovery_codes": len(codes)},
    )
    return codes


def verify(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    user: User,
    session: UserSession,
    code: str,
    actor: str,
    settings: Settings | None = None,
) -> None:
    """Passes the session's second factor with a current TOTP code not used before, or with an
    unused recovery code (then used up); otherwise `SecondFactorRefused`, after the failure is
    written. `settings` gives the lock's limits (their defaults without it)."""
    _refuse_if_locked(db, user, actor)
    given = _normalised(code)
    method: str | None = None
    if is_enrolled(user) and _TOTP_SHAPE.match(given):
        step = _totp_step(_open(db, keyring, user), given, user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            method = "totp"
    elif is_enrolled(user) and _RECOVERY_SHAPE.match(given):
        left = _use_recovery_code(db, user, given)
        if left is not None:
            method = "recovery_code"
            record(
                db,
                actor=actor,
                action="user.recovery_code_used",
                object_type="user",
                object_id=user.id,
                details={"remaining": left},
            )
    if method is None:
        raise _refuse(db, settings, user, session, actor, step="sign_in")
    _passed(db, user, session)
    record(
        db,
        actor=actor,
        action="user.second_factor_passed",
        object_type="user",
        object_id=user.id,
        details={"method": method},
    )


def reset(*, db: Session, user: User, actor: str) -> None:
    """Forgets the TOTP secret (its data key shredded) and the recovery codes; the person
    enrols again at their next sign-in where their role requires it."""
    user.totp_ciphertext = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    data_keys.shred(db=db, owner=_owner(user))
    record(
        db, actor=actor, action="user.second_factor_reset", object_type="user", object_id=user.id
    )
