"""A deadline pass at a moved clock, as the scheduler would make it then.

    report = run_at(follow_up.run, runtime, due + timedelta(hours=49))

The hub's clock is reset, moved to `moment` and left there (a test resets it when it needs the
present again: `clock.reset()`); the pass runs in the test's process, on its runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from hub.clock import clock, utcnow
from hub.runtime import Runtime

T = TypeVar("T")


def run_at(job: Callable[[Runtime], T], runtime: Runtime, moment: datetime) -> T:
    """Move the hub's clock to `moment` and run `job` (a deadline pass's `run`)."""
    clock.reset()
    clock.advance(moment - utcnow())
    return job(runtime)
