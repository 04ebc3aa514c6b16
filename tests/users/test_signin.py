"""Signing in with a password: the answers, the lock, throttling and what the audit log keeps.

Each attempt runs in its own transaction and, like the console's route, catches the refusal
inside it, so what a failure writes is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hub.clock import utcnow
from hub.runtime import Runtime
from hub.settings import Settings
from hub.users import service, sessions, signin
from hub.users.models import User
from tests.users.conftest import PASSWORD, audit_rows, move

WRONG = "a wrong password, long enough"


def attempt(
    runtime: Runtime,
    email: str,
    password: str = PASSWORD,
    *,
    limiter: Any = None,
    source: str = "192.0.2.10",
    settings: Settings | None = None,
) -> str:
    """'ok' or the refusal's code."""
    settings = settings or runtime.settings
    with runtime.sessions.begin() as db:
        try:
            token, session = signin.sign_in(
                db=db,
                settings=settings,
                limiter=limiter or signin.make_limiter(settings),
                email=email,
                password=password,
                source=source,
            )
        except signin.SigninRefused as refused:
            return refused.code
        assert sessions.resolve(db=db, settings=settings, token=token) is session
        return "ok"


def user(runtime: Runtime, user_id: str) -> User:
    with runtime.sessions() as db:
        found = db.get(User, user_id)
        assert found is not None
        db.expunge(found)
        return found


def test_the_right_password_opens_a_session(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    user_id = make_user()
    assert attempt(runtime, "  Case_Worker@Example.org ") == "ok"
    assert user(runtime, user_id).last_signin_at is not None
    [entry] = audit_rows(runtime, "user.signin_succeeded")
    assert entry["actor"].startswith(f"user:{user_id}@")
    assert entry["details"] == {"second_factor_needed": False}


def test_a_wrong_password_is_refused_and_counted(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    user_id = make_user()
    assert attempt(runtime, "case_worker@example.org", WRONG) == "invalid_credentials"
    assert user(runtime, user_id).failed_signins == 1
    [entry] = audit_rows(runtime, "user.signin_failed")
    assert entry["details"] == {"reason": "invalid_credentials", "user_id": user_id}
    assert entry["actor"] == f"user:{user_id}@{user(runtime, user_id).organization_id}"
    # a success ends the run of failures
    assert attempt(runtime, "case_worker@example.org") == "ok"
    assert user(runtime, user_id).failed_signins == 0


def test_failures_lock_the_account_even_against_the_right_password(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    user_id = make_user()
    email = "case_worker@example.org"
    limit = runtime.settings.signin_max_failures
    answers = [attempt(runtime, email, WRONG) for _ in range(limit)]
    assert answers == ["invalid_credentials"] * (limit - 1) + ["locked"]
    locked_until = user(runtime, user_id).locked_until
    assert locked_until is not None
    lock = timedelta(minutes=runtime.settings.signin_lock_minutes)
    assert lock - timedelta(minutes=1) < locked_until - utcnow() <= lock
    move(1)
    assert attempt(runtime, email) == "locked"
    assert attempt(runtime, email, WRONG) == "locked"
    assert user(runtime, user_id).locked_until == locked_until  # not extended
    assert len(audit_rows(runtime, "user.locked")) == 1
    reasons = [e["details"]["reason"] for e in audit_rows(runtime, "user.signin_failed")]
    assert reasons[-2:] == ["locked", "locked"]


def test_the_lock_runs_out(runtime: Runtime, make_user: Callable[..., str]) -> None:
    user_id = make_user()
    email = "case_worker@example.org"
    for _ in range(runtime.settings.signin_max_failures):
        attempt(runtime, email, WRONG)
    assert attempt(runtime, email) == "locked"
    move(runtime.settings.signin_lock_minutes + 1)
    assert attempt(runtime, email) == "ok"
    assert user(runtime, user_id).failed_signins == 0


def test_an_unknown_address_gets_the_same_answers_and_costs_the_same(
    runtime: Runtime, make_user: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user()
    verified: list[str] = []
    real = service._hasher

    class Counting:
        def verify(self, hash: str, password: str) -> bool:
            verified.append(hash)
            return real.verify(hash, password)

    monkeypatch.setattr(service, "_hasher", Counting())
    limit = runtime.settings.signin_max_failures
    limiter = signin.make_limiter(
        runtime.settings.model_copy(update={"signin_rate_limit": "100/minute"})
    )
    known = [
        attempt(runtime, "case_worker@example.org", WRONG, limiter=limiter)
        for _ in range(limit + 1)
    ]
    unknown = [
        attempt(runtime, "nobody@example.org", WRONG, limiter=limiter) for _ in range(limit + 1)
    ]
    assert unknown == known == ["invalid_credentials"] * (limit - 1) + ["locked", "locked"]
    # one argon2 verification for each attempt that was not locked, on either side
    assert len(verified) == 2 * limit
    assert all(h.startswith("$argon2id$") for h in verified)
    anonymous = [e for e in audit_rows(runtime, "user.signin_failed") if e["actor"] == "anonymous"]
    assert len(anonymous) == limit + 1
    assert all(e["details"]["user_id"] is None for e in anonymous)


def test_a_disabled_person_gets_the_wrong_password_answer(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    user_id = make_user()
    with runtime.sessions.begin() as db:
        service.disable(db=db, actor="cli:op", user=db.get(User, user_id))  # type: ignore[arg-type]
    assert attempt(runtime, "case_worker@example.org") == "invalid_credentials"
    assert audit_rows(runtime, "user.signin_failed")[-1]["details"]["reason"] == "disabled"


def test_a_disabled_person_locks_like_an_unknown_address(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    user_id = make_user()
    with runtime.sessions.begin() as db:
        service.disable(db=db, actor="cli:op", user=db.get(User, user_id))  # type: ignore[arg-type]
    limit = runtime.settings.signin_max_failures
    limiter = signin.make_limiter(
        runtime.settings.model_copy(update={"signin_rate_limit": "100/minute"})
    )
    # the right password and wrong ones alike: a disabled account has no right password
    disabled = [
        attempt(runtime, "case_worker@example.org", (PASSWORD, WRONG)[i % 2], limiter=limiter)
        for i in range(limit + 1)
    ]
    unknown = [
        attempt(runtime, "nobody@example.org", WRONG, limiter=limiter) for _ in range(limit + 1)
    ]
    assert disabled == unknown == ["invalid_credentials"] * (limit - 1) + ["locked", "locked"]
    # enabling starts afresh: the attempts made while disabled are forgotten
    with runtime.sessions.begin() as db:
        service.enable(db=db, actor="cli:op", user=db.get(User, user_id))  # type: ignore[arg-type]
    assert attempt(runtime, "case_worker@example.org", limiter=limiter) == "ok"


def test_attempts_are_throttled_per_address_and_per_source(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    make_user()
    settings = runtime.settings.model_copy(
        update={"signin_rate_limit": "3/minute", "signin_max_failures": 100}
    )
    limiter = signin.make_limiter(settings)
    email = "case_worker@example.org"
    # one address from many places
    by_address = [
        attempt(runtime, email, WRONG, limiter=limiter, source=f"198.51.100.{i}", settings=settings)
        for i in range(4)
    ]
    assert by_address == ["invalid_credentials"] * 3 + ["throttled"]
    # even the right password waits
    assert attempt(runtime, email, limiter=limiter, settings=settings) == "throttled"
    # one place trying many addresses
    limiter = signin.make_limiter(settings)
    by_source = [
        attempt(runtime, f"n{i}@example.org", WRONG, limiter=limiter, settings=settings)
        for i in range(4)
    ]
    assert by_source == ["invalid_credentials"] * 3 + ["throttled"]
    # the default limit is the settings' (10 a minute)
    limiter = signin.make_limiter(runtime.settings)
    assert limiter.by_email.limit == 10 and limiter.by_email.window == 60


def test_the_audit_log_keeps_neither_passwords_nor_addresses(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    make_user()
    attempt(runtime, "case_worker@example.org", WRONG, source="203.0.113.77")
    attempt(runtime, "nobody@example.org", WRONG, source="203.0.113.77")
    attempt(runtime, "case_worker@example.org", source="203.0.113.77")
    rows = audit_rows(runtime)
    assert {"user.signin_failed", "user.signin_succeeded"} <= {r["action"] for r in rows}
    rendered = repr(rows)
    for secret in (PASSWORD, WRONG, "203.0.113.77"):
        assert secret not in rendered
