"""The real app served on 127.0.0.1 with a probe route (tests/support/live_hub.py)."""

from __future__ import annotations

from tests.support.live_hub import live, move_clock, start_live

__all__ = ["live", "move_clock", "start_live"]
