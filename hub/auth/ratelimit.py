"""An in-process sliding-window rate limiter (per server process, not shared between them)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
# bound on tracked keys, so a stream of made-up client ids cannot grow memory without end
MAX_KEYS = 10_000


def parse_rate(rate: str) -> tuple[int, float]:
    """`"30/minute"` → (30, 60.0)."""
    count, _, period = rate.partition("/")
    return int(count.strip()), PERIODS[period.strip()]


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
        now = self._now()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= MAX_KEYS:
                    self._sweep(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            return 0

    def _sweep(self, now: float) -> None:
        stale = [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window]
        for key in stale:
            del self._hits[key]
        if len(self._hits) >= MAX_KEYS:
            # still full of live keys: forget the oldest half rather than refuse everyone
            by_age = sorted(self._hits, key=lambda k: self._hits[k][-1])
            for key in by_age[: len(by_age) // 2]:
                del self._hits[key]
