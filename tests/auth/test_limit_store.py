"""Rate limits counted in the database: every server process shares them, and the keys they
count (client ids, addresses) are not stored in the clear."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.auth.limit_store import DatabaseWindowLimiter
from hub.auth.models import RateLimitHit
from hub.auth.ratelimit import AuthenticationLimits
from hub.runtime import Runtime


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_slides_across_transactions(runtime: Runtime) -> None:
    t = FakeTime()
    for _ in range(3):
        with runtime.sessions.begin() as db:
            assert DatabaseWindowLimiter(db, "test", 3, 60.0, now=t).hit("a") == 0
        t.now += 10
    with runtime.sessions.begin() as db:
        limiter = DatabaseWindowLimiter(db, "test", 3, 60.0, now=t)
        assert limiter.hit("a") == 30  # the first hit leaves the window 30 s from now
        assert limiter.hit("b") == 0  # keys are independent
        assert DatabaseWindowLimiter(db, "other", 3, 60.0, now=t).hit("a") == 0  # so are buckets
    t.now += 30
    with runtime.sessions.begin() as db:
        limiter = DatabaseWindowLimiter(db, "test", 3, 60.0, now=t)
        assert limiter.hit("a") == 0  # one place freed, not the whole window
        assert limiter.hit("a") == 10


def _limits(db: Session, now: FakeTime) -> AuthenticationLimits:
    def make(bucket: str, limit: int, window: float) -> DatabaseWindowLimiter:
        return DatabaseWindowLimiter(db, bucket, limit, window, now=now)

    return AuthenticationLimits(2, 60.0, make=make)


def test_server_processes_count_against_one_limit(runtime: Runtime) -> None:
    # each failure is counted by another server process, in its own request's transaction
    t = FakeTime()
    for _ in range(2):
        with runtime.sessions.begin() as db:
            assert _limits(db, t).client_wait("victim", "attacker") == 0
            _limits(db, t).failed(["victim"], "attacker")
    with runtime.sessions.begin() as db:
        assert _limits(db, t).client_wait("victim", "attacker") == 60
        assert _limits(db, t).client_wait("victim", "elsewhere") == 0


def test_keys_are_stored_as_digests_only(runtime: Runtime) -> None:
    client_id = "hub-client-8f2e1c"
    with runtime.sessions.begin() as db:
        AuthenticationLimits(
            5, 60.0, make=lambda b, n, w: DatabaseWindowLimiter(db, b, n, w)
        ).failed([client_id], "203.0.113.7")
    with runtime.sessions() as db:
        keys = db.scalars(select(RateLimitHit.key)).all()
        assert len(keys) == 2  # the source, and the (client, source) pair
        assert all(len(key) == 64 and client_id not in key and "203.0" not in key for key in keys)
        assert db.scalar(select(func.count()).select_from(RateLimitHit)) == 2


def test_expired_events_are_swept(runtime: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hub.auth import limit_store

    monkeypatch.setattr(limit_store, "SWEEP_EVERY", 1)
    t = FakeTime()
    with runtime.sessions.begin() as db:
        for i in range(5):
            DatabaseWindowLimiter(db, "test", 100, 60.0, now=t).add(f"k{i}")
    t.now += 61
    with runtime.sessions.begin() as db:
        DatabaseWindowLimiter(db, "test", 100, 60.0, now=t).add("fresh")
    with runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(RateLimitHit)) == 1
