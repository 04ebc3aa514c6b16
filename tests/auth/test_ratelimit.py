from __future__ import annotations

import pytest

from hub.auth import ratelimit
from hub.auth.ratelimit import SlidingWindowLimiter, parse_rate


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_parse_rate() -> None:
    assert parse_rate("30/minute") == (30, 60.0)
    assert parse_rate(" 5 / second ") == (5, 1.0)
    with pytest.raises(KeyError):
        parse_rate("5/fortnight")


def test_the_window_slides() -> None:
    t = FakeTime()
    limiter = SlidingWindowLimiter(3, 60.0, now=t)
    for _ in range(3):  # at 1000, 1010, 1020
        assert limiter.hit("a") == 0
        t.now += 10
    assert limiter.hit("a") == 30  # at 1030: the first hit leaves the window at 1060
    assert limiter.hit("b") == 0  # keys are independent
    t.now = 1060
    assert limiter.hit("a") == 0  # one slot freed, not the whole window
    assert limiter.hit("a") == 10  # the next leaves at 1070


def test_tracked_keys_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_KEYS", 10)
    t = FakeTime()
    limiter = SlidingWindowLimiter(1, 60.0, now=t)
    for i in range(100):
        limiter.hit(f"k{i}")
        t.now += 0.01
    assert len(limiter._hits) <= 10


def test_authentication_limits_hold_failures_against_the_source_that_made_them() -> None:
    t = FakeTime()
    limits = ratelimit.AuthenticationLimits(2, 60.0, now=t)
    limits.failed(["victim"], "attacker")
    limits.failed(["victim"], "attacker")
    assert limits.client_wait("victim", "attacker") == 60
    assert limits.client_wait("victim", "victim-host") == 0
    # the source's own allowance, across ids, is larger and separate
    assert limits.source_wait("attacker") == 0
    for i in range(6):
        limits.failed([f"made-up-{i}"], "attacker")
    assert limits.source_wait("attacker") > 0
    assert limits.source_wait("victim-host") == 0
    # successes: ten times the failure limit, per client
    assert [limits.succeeded("victim") for _ in range(21)][-2:] == [0, 60]
    t.now += 61
    assert limits.client_wait("victim", "attacker") == 0
    assert limits.source_wait("attacker") == 0
