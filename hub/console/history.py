"""What the history pages share: the time since a move in the page's language, the names of the
organisations an event list speaks of, and the consent gate's reasons by their effect.

A referral's and a transfer's history are read by their own services (`reading.events`, the
function GET /v1/referrals/{id}/events and GET /v1/transfers/{id}/events call, with what the
caller's party may see); the template `_history.html` shows either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from babel.dates import format_timedelta

from hub.clock import utcnow
from hub.lifecycle.schemas import EventRead
from hub.policy.loader import Policy
from hub.policy.rules import Effect, Reason


def since(language: str) -> Callable[[datetime | None], str]:
    """ "3 days", « 3 jours »: the time since a move, in words of the page's language."""
    now = utcnow()

    def words(moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_timedelta(now - moment, locale=language, threshold=1.0)

    return words


def parties(events: Iterable[EventRead], *also: str) -> list[str]:
    """The organisations the events were recorded for, and `also`: the names a page needs."""
    return [*also, *(e.organization_id for e in events if e.organization_id)]


def reasons_with(
    policy: Policy, reasons: Sequence[Mapping[str, Any]], effect: Effect
) -> list[Mapping[str, Any]]:
    """The gate's reasons that have this effect under the policy (why it holds or refuses)."""
    return [r for r in reasons if policy.effect(Reason(r["code"])) is effect]
