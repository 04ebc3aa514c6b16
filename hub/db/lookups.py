"""Short-lived caches of stable lookups (what an organisation is, the kind of its delivery
channel), so that a hot request does not read again, each time, rows that almost never change.

Each entry lives `lookup_cache_seconds` at most (`configure`, from the settings as the runtime
is built; 0 turns caching off) and is dropped by the code that changes its row, in this
process; another process sees the change when its own entry ends. Only what a stale answer for
that long cannot make unsafe belongs here: never agreements or consents, whose revocation and
withdrawal take effect at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_SECONDS = 30.0
# an upper bound on each cache's entries (the oldest half goes when it is reached)
MAX_ENTRIES = 10_000

_seconds = [DEFAULT_SECONDS]


def configure(seconds: float) -> None:
    """How long every lookup cache keeps an entry (0: not at all)."""
    _seconds[0] = max(0.0, seconds)
    for cache in list(_caches):
        cache.clear()


class Lookups(Generic[K, V]):
    def __init__(self, *, now: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[K, tuple[V, float]] = {}
        self._lock = threading.Lock()
        self._now = now
        _caches.append(self)

    def get(self, key: K, load: Callable[[], V | None]) -> V | None:
        """The cached value of `key`, or `load()`'s (kept when it is not None)."""
        seconds = _seconds[0]
        if seconds > 0:
            with self._lock:
                found = self._entries.get(key)
            if found is not None and self._now() - found[1] < seconds:
                return found[0]
        value = load()
        if value is not None and seconds > 0:
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    for old in list(self._entries)[: MAX_ENTRIES // 2]:
                        del self._entries[old]
                self._entries[key] = (value, self._now())
        return value

    def drop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_caches: list[Lookups] = []  # type: ignore[type-arg]
