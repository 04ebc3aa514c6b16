"""Waiting for something the test cannot be told of: looking again, soon at first."""

from __future__ import annotations

from collections.abc import Iterator


def poll_pauses(first: float = 0.01, most: float = 0.1) -> Iterator[float]:
    """The pauses between two looks at something awaited: 10 ms, doubling up to 100 ms.

    Most waits of the tests end within a tenth of a second (a worker takes the message just
    sent); polling every 100 ms from the start made each such wait last ~100 ms (14.7 s of the
    138 waits of tests/referrals), while looking every 10 ms for a long wait would spend the
    test's CPU on the predicate's queries."""
    pause = first
    while True:
        yield pause
        pause = min(pause * 2, most)
