"""Console sessions: kept on the server, ended by idleness, age, sign-out and disabling."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from hub.runtime import Runtime
from hub.settings import Settings
from hub.users import service, sessions
from hub.users.models import User, UserSession
from tests.users.conftest import audit_rows, move


def _open(runtime: Runtime, user_id: str, second_factor: bool = False) -> str:
    with runtime.sessions.begin() as db:
        token, _ = sessions.create(
            db=db,
            settings=runtime.settings,
            user=db.get(User, user_id),  # type: ignore[arg-type]
            second_factor=second_factor,
        )
        return token


def _alive(runtime: Runtime, token: str | None) -> bool:
    with runtime.sessions.begin() as db:
        return sessions.resolve(db=db, settings=runtime.settings, token=token) is not None


def test_a_token_opens_its_session_and_only_its_hash_is_stored(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    user_id = make_user()
    token = _open(runtime, user_id)
    with runtime.sessions.begin() as db:
        session = sessions.resolve(db=db, settings=runtime.settings, token=token)
        assert session is not None
        assert session.user.id == user_id  # the person comes with the session
        assert session.id == hashlib.sha256(token.encode()).hexdigest()
        assert session.csrf_token and session.csrf_token != token
        absolute = runtime.settings.console_session_absolute_minutes
        assert session.expires_at - session.created_at == timedelta(minutes=absolute)
        stored = db.scalars(select(UserSession)).one()
        assert token not in (stored.id, stored.csrf_token)
    for other in (None, "", "not-a-token", token + "x", "x" * 500):
        assert not _alive(runtime, other)


def test_sessions_end_after_the_idle_limit_but_activity_keeps_them(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    idle = runtime.settings.console_session_idle_minutes
    token = _open(runtime, make_user())
    for _ in range(3):  # well past one idle period in all, but used in between
        move(idle - 5)
        assert _alive(runtime, token)
    move(idle + 1)
    assert not _alive(runtime, token)


def test_activity_is_written_at_most_once_a_minute(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    token = _open(runtime, make_user())
    with runtime.sessions() as db:
        first = db.scalars(select(UserSession)).one().last_seen_at
    move(0.5)
    assert _alive(runtime, token)
    with runtime.sessions() as db:
        assert db.scalars(select(UserSession)).one().last_seen_at == first
    move(1)
    assert _alive(runtime, token)
    with runtime.sessions() as db:
        assert db.scalars(select(UserSession)).one().last_seen_at > first


def test_sessions_end_at_the_absolute_limit_however_active(
    settings: Settings, make_user: Callable[..., str], runtime: Runtime
) -> None:
    token = _open(runtime, make_user())
    absolute = settings.console_session_absolute_minutes
    idle = settings.console_session_idle_minutes
    used = 0
    while used + idle - 1 < absolute:
        move(idle - 1)
        used += idle - 1
        assert _alive(runtime, token), used
    move(absolute - used)
    assert not _alive(runtime, token)


def test_sign_out_revokes_the_session_and_is_audited(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    user_id = make_user()
    token = _open(runtime, user_id)
    other = _open(runtime, user_id)
    with runtime.sessions.begin() as db:
        session = sessions.resolve(db=db, settings=runtime.settings, token=token)
        assert session is not None
        sessions.revoke(db=db, session=session, actor=f"user:{user_id}@x")
    assert not _alive(runtime, token)
    assert _alive(runtime, other)  # another browser's session is its own
    [entry] = audit_rows(runtime, "user.signed_out")
    assert entry["object_id"] == user_id
    assert token not in str(entry)


def test_disabling_a_person_ends_every_session_and_refuses_them(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    user_id = make_user()
    tokens = [_open(runtime, user_id) for _ in range(2)]
    bystander = _open(runtime, make_user(email="other@example.org"))
    with runtime.sessions.begin() as db:
        user = db.get(User, user_id)
        assert user is not None
        assert service.disable(db=db, actor="cli:op", user=user) == 2
    assert not any(_alive(runtime, t) for t in tokens)
    assert _alive(runtime, bystander)
    [revoked] = audit_rows(runtime, "user.session_revoked")
    assert revoked["details"] == {"reason": "disabled", "sessions": 2}
    assert audit_rows(runtime, "user.disabled")


def test_a_disabled_persons_session_is_refused_even_unrevoked(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    user_id = make_user()
    token = _open(runtime, user_id)
    with runtime.sessions.begin() as db:
        user = db.get(User, user_id)
        assert user is not None
        user.disabled_at = user.created_at
    assert not _alive(runtime, token)
    with runtime.sessions() as db:
        assert db.scalars(select(UserSession)).one().revoked_at is None


def test_the_second_factor_is_needed_by_role_or_by_choice(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    worker = make_user("case_worker")
    officer = make_user("consent_officer")
    admin = make_user("admin")
    with runtime.sessions.begin() as db:

        def session_of(user_id: str) -> UserSession:
            user = db.get(User, user_id)
            assert user is not None
            return sessions.create(db=db, settings=runtime.settings, user=user)[1]

        assert not sessions.needs_second_factor(session_of(worker))
        assert sessions.needs_second_factor(session_of(officer))
        assert sessions.needs_second_factor(session_of(admin))
        passed = session_of(officer)
        sessions.mark_second_factor(db=db, session=passed)
        assert not sessions.needs_second_factor(passed)
        # a case worker who enrolled anyway passes it too
        enrolled = db.get(User, worker)
        assert enrolled is not None
        enrolled.totp_enabled_at = enrolled.created_at
        assert sessions.needs_second_factor(session_of(worker))
