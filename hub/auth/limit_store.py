"""Rate-limit windows kept in the database, so that every server process and every replica of
the hub counts against one limit: N processes must not allow N times the limit.

Each counted event is a row (`RateLimitHit`) under a bucket (which limit) and the SHA-256 of the
key (a client id, an address): a sliding window is the rows of the last `window` seconds. A
limiter works in the request's own transaction, which commits whatever the answer (a refused
authentication is an answer, not an error), so its counts are kept with it and a request never
waits on a second connection. Two processes counting the last free place at the same moment may
both get it: the limit can be passed by that much, never multiplied.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections.abc import Callable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from hub.auth.models import RateLimitHit

# expired rows of a bucket are swept after this many writes by one process
SWEEP_EVERY = 200
_writes = itertools.count(1)


class DatabaseWindowLimiter:
    """The interface of `ratelimit.SlidingWindowLimiter` (hit, wait, add), shared."""

    def __init__(
        self,
        db: Session,
        bucket: str,
        limit: int,
        window: float,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.bucket = bucket
        self.limit = limit
        self.window = window
        self._now = now

    def hit(self, key: str) -> int:
        """Count a request for `key`; 0 if allowed, else the seconds to wait before retrying."""
        return self._count(key, record=True)

    def wait(self, key: str) -> int:
        """0 if `key` is under its limit, else the seconds to wait; counts nothing."""
        return self._count(key, record=False)

    def add(self, key: str) -> None:
        """Count an event for `key` whatever the limit says (a failure that happened)."""
        self._insert(_digest(key), self._now())

    def _count(self, key: str, *, record: bool) -> int:
        now = self._now()
        digest = _digest(key)
        latest = self.db.scalars(
            select(RateLimitHit.at)
            .where(
                RateLimitHit.bucket == self.bucket,
                RateLimitHit.key == digest,
                RateLimitHit.at > now - self.window,
            )
            .order_by(RateLimitHit.at.desc())
            .limit(self.limit)
        ).all()
        if len(latest) >= self.limit:
            # a place frees up when the oldest of the last `limit` events leaves the window
            return max(1, math.ceil(latest[-1] + self.window - now))
        if record:
            self._insert(digest, now)
        return 0

    def _insert(self, digest: str, now: float) -> None:
        self.db.execute(insert(RateLimitHit).values(bucket=self.bucket, key=digest, at=now))
        if next(_writes) % SWEEP_EVERY == 0:
            self.db.execute(
                delete(RateLimitHit).where(
                    RateLimitHit.bucket == self.bucket, RateLimitHit.at <= now - self.window
                )
            )


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
