"""Time, from one place, so tests (and the deadline jobs they drive) can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """The wall clock, in UTC, with an offset a test can advance."""

    def __init__(self) -> None:
        self._offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    def reset(self) -> None:
        self._offset = timedelta()


clock = Clock()


def utcnow() -> datetime:
    return clock.now()
