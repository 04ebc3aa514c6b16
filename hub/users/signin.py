"""Signing in to the console with an e-mail and a password: throttling, the lock, the audit.

- Throttling: a sliding window per server process keyed on the e-mail address and another on
  the client's address (`signin_rate_limit` each). Over either → refused `throttled`, before
  any password is checked.
- The lock: `signin_max_failures` consecutive failures (wrong passwords and wrong second-factor
  codes alike) lock the account for `signin_lock_minutes`; while locked every attempt is
  refused `locked`, even with the right password, and the lock is not extended. Completing a
  sign-in resets the count. Unknown e-mail addresses "lock" the same way (in memory), so the
  answers do not tell which accounts exist.
- An unknown e-mail costs the same argon2 verification as a wrong password and gets the same
  answer; so does a disabled account, whose every attempt counts toward the lock.
- Every attempt that reaches the password is audited (`user.signin_succeeded`,
  `user.signin_failed`, `user.locked`) with the reason and the user id when known: never the
  password, a code or the client's address. Throttled attempts are logged, not audited, so a
  flood cannot grow the audit chain without end.

Failures are written to the caller's transaction *before* `SigninRefused` is raised: the
console catches it and answers normally, so the count, the lock and the audit entries commit.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.auth.ratelimit import MAX_KEYS, SlidingWindowLimiter
from hub.clock import utcnow
from hub.settings import Settings
from hub.users import service, sessions
from hub.users.models import User, UserSession

log = logging.getLogger("hub.users")

ANONYMOUS = "anonymous"


class SigninRefused(Exception):
    """A refused sign-in; `code` is `invalid_credentials`, `locked` or `throttled`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class _UnknownAccounts:
    """Failure counts and locks for e-mail addresses that have no account, in memory, so that
    an unknown address locks after as many failures as a real one."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[int, datetime | None]] = {}
        self._lock = threading.Lock()

    def locked(self, email: str, now: datetime) -> bool:
        with self._lock:
            _, until = self._state.get(email, (0, None))
            return until is not None and until > now

    def fail(self, email: str, now: datetime, max_failures: int, lock: timedelta) -> bool:
        """Count a failure; True when it locks the address."""
        with self._lock:
            count, until = self._state.get(email, (0, None))
            if until is not None and until <= now:
                count, until = 0, None
            count += 1
            if len(self._state) >= MAX_KEYS and email not in self._state:
                # bounded: forget the oldest half (dicts keep insertion order)
                for key in list(self._state)[: MAX_KEYS // 2]:
                    del self._state[key]
            if count >= max_failures:
                self._state[email] = (0, now + lock)
                return True
            self._state[email] = (count, None)
            return False


class SigninLimiter:
    """The per-process throttles of the sign-in form, and the unknown addresses' locks."""

    def __init__(self, rate: str) -> None:
        self.by_email = SlidingWindowLimiter.from_rate(rate)
        self.by_source = SlidingWindowLimiter.from_rate(rate)
        self.unknown = _UnknownAccounts()

    def allow(self, *, email: str, source: str) -> bool:
        # both are counted, so a refused key does not spare the other
        over_email = self.by_email.hit(email)
        over_source = self.by_source.hit(source or "-")
        return over_email == 0 and over_source == 0


def make_limiter(settings: Settings) -> SigninLimiter:
    return SigninLimiter(settings.signin_rate_limit)


def lock_policy(settings: Settings | None) -> tuple[int, timedelta]:
    """(failures that lock, how long); the settings' defaults when none are given."""
    if settings is None:
        fields = Settings.model_fields
        return (
            int(fields["signin_max_failures"].default),
            timedelta(minutes=int(fields["signin_lock_minutes"].default)),
        )
    return settings.signin_max_failures, timedelta(minutes=settings.signin_lock_minutes)


def count_failure(*, db: Session, settings: Settings | None, user: User, actor: str) -> bool:
    """One more consecutive failure of the person's (password or second-factor code); locks
    the account when it reaches the limit (audited `user.locked`). True when it locked it.

    The count starts again after a lock, so a lock that ran out gives as many tries again.
    """
    max_failures, lock = lock_policy(settings)
    user.failed_signins = (user.failed_signins or 0) + 1
    if user.failed_signins < max_failures:
        return False
    user.failed_signins = 0
    user.locked_until = utcnow() + lock
    record(
        db,
        actor=actor,
        action="user.locked",
        object_type="user",
        object_id=user.id,
        details={"until": user.locked_until.isoformat(), "failures": max_failures},
    )
    return True


def _failed(db: Session, *, user: User | None, reason: str) -> None:
    record(
        db,
        actor=sessions.actor_of(user) if user else ANONYMOUS,
        action="user.signin_failed",
        object_type="user",
        object_id=user.id if user else None,
        details={"reason": reason, "user_id": user.id if user else None},
    )


def sign_in(
    *,
    db: Session,
    settings: Settings,
    limiter: SigninLimiter,
    email: str,
    password: str,
    source: str,
) -> tuple[str, UserSession]:
    """A new session for the right e-mail and password (the second factor still to pass where
    it is needed); otherwise `SigninRefused`, after the failure is written."""
    address = email.strip().lower()
    if not limiter.allow(email=address, source=source):
        log.warning("console sign-in throttled")
        raise SigninRefused("throttled")
    now = utcnow()
    user = service.find_by_email(db=db, email=address)
    if user is None:
        max_failures, lock = lock_policy(settings)
        if limiter.unknown.locked(address, now):
            _failed(db, user=None, reason="locked")
            raise SigninRefused("locked")
        service.password_matches(None, password)  # the same cost as a real account's check
        _failed(db, user=None, reason="invalid_credentials")
        locked = limiter.unknown.fail(address, now, max_failures, lock)
        raise SigninRefused("locked" if locked else "invalid_credentials")
    if service.is_locked(user):
        _failed(db, user=user, reason="locked")
        raise SigninRefused("locked")
    right = service.password_matches(user, password)
    if user.disabled_at is not None:
        # counted like any failure, so a disabled account locks after as many tries as an
        # unknown address does and the answers do not single it out
        _failed(db, user=user, reason="disabled")
        locked = count_failure(db=db, settings=settings, user=user, actor=sessions.actor_of(user))
        raise SigninRefused("locked" if locked else "invalid_credentials")
    if not right:
        _failed(db, user=user, reason="invalid_credentials")
        locked = count_failure(db=db, settings=settings, user=user, actor=sessions.actor_of(user))
        raise SigninRefused("locked" if locked else "invalid_credentials")
    token, session = sessions.create(db=db, settings=settings, user=user)
    second_factor = sessions.needs_second_factor(session)
    if not second_factor:
        # for those with a second factor, only passing it ends the run of failures: the
        # password alone must not let someone guess codes forever
        user.failed_signins = 0
    user.last_signin_at = now
    record(
        db,
        actor=sessions.actor_of(user),
        action="user.signin_succeeded",
        object_type="user",
        object_id=user.id,
        details={"second_factor_needed": second_factor},
    )
    return token, session
