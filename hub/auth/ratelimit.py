"""Sliding-window rate limits, and the limits on client authentication built from them.

`SlidingWindowLimiter` counts in this process only; the server's limits are shared between its
processes through the database (`hub.auth.limit_store`), with the same interface (`Limiter`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
# bound on tracked keys, so a stream of made-up client ids cannot grow memory without end
MAX_KEYS = 10_000


def parse_rate(rate: str) -> tuple[int, float]:
    """`"30/minute"` → (30, 60.0)."""
    count, _, period = rate.partition("/")
    return int(count.strip()), PERIODS[period.strip()]


class Limiter(Protocol):
    def hit(self, key: str) -> int: ...
    def wait(self, key: str) -> int: ...
    def add(self, key: str) -> None: ...


# (bucket, limit, window in seconds) -> a limiter; the bucket names the limit in a shared store
MakeLimiter = Callable[[str, int, float], Limiter]


class SlidingWindowLimiter:
    def __init__(
        self, limit: int, window: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._now = now
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_rate(cls, rate: str) -> SlidingWindowLimiter:
        return cls(*parse_rate(rate))

    def hit(self, key: str) -> int:
        """Count a request for `key`; 0 if allowed, else the seconds to wait before retrying."""
        return self._count(key, record=True)

    def wait(self, key: str) -> int:
        """0 if `key` is under its limit, else the seconds to wait; counts nothing."""
        return self._count(key, record=False)

    def add(self, key: str) -> None:
        """Count an event for `key` whatever the limit says (a failure that happened)."""
        now = self._now()
        with self._lock:
            self._live(key, now).append(now)

    def _count(self, key: str, *, record: bool) -> int:
        now = self._now()
        with self._lock:
            hits = self._live(key, now)
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            if record:
                hits.append(now)
            return 0

    def _live(self, key: str, now: float) -> deque[float]:
        """The key's hits inside the window (the lock is held)."""
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= MAX_KEYS:
                self._sweep(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        # bounded: a key refused for the whole window never holds more than its limit
        while len(hits) > self.limit:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        stale = [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window]
        for key in stale:
            del self._hits[key]
        if len(self._hits) >= MAX_KEYS:
            # still full of live keys: forget the oldest half rather than refuse everyone
            by_age = sorted(self._hits, key=lambda k: self._hits[k][-1])
            for key in by_age[: len(by_age) // 2]:
                del self._hits[key]


# a source may fail for this many times the per-client limit, across all the ids it claims
SOURCE_FACTOR = 4
# a client's own successful token requests: generous, only its holder can spend them
SUCCESS_FACTOR = 10


class AuthenticationLimits:
    """Limits on client authentication at the token, introspection and revocation endpoints.

    Only failures are held against a claimed client id, and only from the source they came
    from: a party that knows another's client id (it is no secret) can use up its own
    allowance, never the other's. A source is also limited across every id it claims, so
    spraying made-up ids stops too. A correct secret from a source that is not itself over
    a limit always gets through; the client's own successful token requests have a separate,
    generous limit that nobody without its credentials can spend.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        now: Callable[[], float] = time.monotonic,
        make: MakeLimiter | None = None,
    ) -> None:
        def in_process(_bucket: str, count: int, seconds: float) -> Limiter:
            return SlidingWindowLimiter(count, seconds, now)

        make = make or in_process
        self.failures = make("auth.failures", limit, window)
        self.source_failures = make("auth.source", limit * SOURCE_FACTOR, window)
        self.successes = make("auth.successes", limit * SUCCESS_FACTOR, window)

    @classmethod
    def from_rate(cls, rate: str, make: MakeLimiter | None = None) -> AuthenticationLimits:
        return cls(*parse_rate(rate), make=make)

    @staticmethod
    def _pair(client_id: str, source: str) -> str:
        return f"{client_id[:64]}\x00{source}"

    def source_wait(self, source: str) -> int:
        """Seconds the source must wait before authenticating at all (0: go ahead)."""
        return self.source_failures.wait(source)

    def client_wait(self, client_id: str, source: str) -> int:
        """Seconds the source must wait before authenticating as this client (0: go ahead)."""
        return self.failures.wait(self._pair(client_id, source))

    def failed(self, client_ids: list[str], source: str) -> None:
        """Record a failed authentication from the source, under each id it claimed."""
        self.source_failures.add(source)
        for client_id in dict.fromkeys(client_ids):
            self.failures.add(self._pair(client_id, source))

    def succeeded(self, client_id: str) -> int:
        """Count the client's successful token request; seconds to wait if over its limit."""
        return self.successes.hit(client_id)
