"""Ended console sessions are purged: a few with every sign-in, the rest by the scheduler's pass.
On the real database, with the hub's clock moved."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from hub.runtime import Runtime
from hub.users import scheduled, sessions
from hub.users.models import User, UserSession
from hub.worker import celery_app, process
from tests.users.conftest import move


def _open(runtime: Runtime, user_id: str) -> str:
    with runtime.sessions.begin() as db:
        token, _ = sessions.create(db=db, settings=runtime.settings, user=db.get_one(User, user_id))
        return token


def _stored(runtime: Runtime) -> set[str]:
    with runtime.sessions() as db:
        return set(db.scalars(select(UserSession.id)))


def _count(runtime: Runtime) -> int:
    with runtime.sessions() as db:
        return db.scalar(select(func.count()).select_from(UserSession)) or 0


def test_a_sign_in_purges_ended_sessions_and_leaves_live_ones(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    settings = runtime.settings
    ada, bea = make_user(email="ada@example.org"), make_user(email="bea@example.org")
    idle = _open(runtime, ada)
    revoked = _open(runtime, ada)
    with runtime.sessions.begin() as db:
        found = sessions.resolve(db=db, settings=settings, token=revoked)
        assert found is not None
        sessions.revoke(db=db, session=found, actor="test")
    move(settings.console_session_idle_minutes + 1)
    live = _open(runtime, bea)  # this sign-in purges the two ended ones
    assert _stored(runtime) == {sessions.token_id(live)}
    assert sessions.token_id(idle) not in _stored(runtime)

    # used all along (never idle), it still ends at its absolute end, and then goes
    step = settings.console_session_idle_minutes - 1
    used_for = 0
    while used_for < settings.console_session_absolute_minutes - step:
        move(step)
        used_for += step
        with runtime.sessions.begin() as db:
            assert sessions.resolve(db=db, settings=settings, token=live) is not None
    move(step)
    with runtime.sessions.begin() as db:
        assert sessions.resolve(db=db, settings=settings, token=live) is None
    newest = _open(runtime, ada)
    assert _stored(runtime) == {sessions.token_id(newest)}


def test_a_sign_in_purges_a_bounded_number(runtime: Runtime, make_user: Callable[..., str]) -> None:
    user_id = make_user()
    for _ in range(sessions.PURGE_ON_SIGNIN + 7):
        _open(runtime, user_id)
    move(runtime.settings.console_session_idle_minutes + 1)
    _open(runtime, user_id)
    # the ended ones beyond the bound wait for the next sign-in, or the scheduler
    assert _count(runtime) == 7 + 1


def test_the_scheduled_pass_purges_every_ended_session_in_batches(
    runtime: Runtime, make_user: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = make_user()
    for _ in range(sessions.PURGE_ON_SIGNIN + 12):
        _open(runtime, user_id)
    move(runtime.settings.console_session_idle_minutes - 1)
    kept = _open(runtime, user_id)  # idle for less than the limit when the pass runs
    move(2)
    assert scheduled.purge(runtime, batch=5) == sessions.PURGE_ON_SIGNIN + 12
    assert _stored(runtime) == {sessions.token_id(kept)}
    with runtime.sessions.begin() as db:
        assert sessions.resolve(db=db, settings=runtime.settings, token=kept) is not None
    assert scheduled.purge(runtime) == 0

    # the task the scheduler ticks, run the way a worker runs it (with the worker's runtime)
    move(runtime.settings.console_session_idle_minutes + 1)
    monkeypatch.setattr(process, "_runtime", runtime)
    monkeypatch.setattr(process, "_pid", os.getpid())
    scheduled.purge_sessions.apply().get()
    assert _count(runtime) == 0


def test_the_scheduler_ticks_the_purge(runtime: Runtime) -> None:
    app = runtime.celery
    by_task = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    entry = by_task[celery_app.SESSION_PURGE_TASK]
    assert entry["schedule"] == celery_app.SESSION_PURGE_SECONDS
    assert "hub.users.scheduled" in app.conf.include
    assert app.conf.task_routes[celery_app.SESSION_PURGE_TASK] == {
        "queue": celery_app.SCHEDULE_QUEUE
    }
