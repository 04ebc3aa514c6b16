"""A deadline step that flags an object and tells everyone concerned, written once for a
referral's follow-up, a transfer offer's acceptance and a transfer request's answer.

The step sets its marker once. It does nothing after an escalation, and an escalation flags the
object overdue too when it was not yet. It queues the partners' notice on the outbox, notifies
the people the policy names and writes the audit entry, all in the transaction of the pass
(`hub.db.deadlines`), which locks the row. What differs between the objects is data: `Flagged`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.db.deadlines import Step
from hub.lifecycle import reasons
from hub.outbox.service import enqueue
from hub.policy.rules import Audience

T = TypeVar("T")


def _no_details(_: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Flagged(Generic[T]):
    """An object whose deadline steps flag it (a mapped class with an `id`)."""

    model: type[T]
    object_type: str
    overdue_marker: str
    escalated_marker: str
    # the outbox payload of the partners' notice
    payload: Callable[[T], dict[str, Any]]
    # the people's notifications of a step: (transaction, object, audiences, step)
    tell: Callable[[Session, T, tuple[Audience, ...], str], None]
    # the audit entry's details: ids and codes only
    details: Callable[[T], dict[str, Any]] = field(default=_no_details)


def marker_step(
    kind: Flagged[T],
    marker: str,
    *,
    topic: str,
    action: str,
    step: str,
    audiences: tuple[Audience, ...],
) -> Step[T]:
    """The step that sets `marker`, queues `topic`, tells the people of `step` and audits
    `action`."""
    escalating = marker == kind.escalated_marker

    def act(db: Session, found: T, now: datetime) -> bool:
        if getattr(found, marker) is not None:
            return False
        if not escalating and getattr(found, kind.escalated_marker) is not None:
            return False
        setattr(found, marker, now)
        if escalating and getattr(found, kind.overdue_marker) is None:
            setattr(found, kind.overdue_marker, now)
        enqueue(db=db, topic=topic, payload=kind.payload(found))
        kind.tell(db, found, audiences, step)
        record(
            db,
            actor=reasons.SYSTEM_ACTOR,
            action=action,
            object_type=kind.object_type,
            object_id=getattr(found, "id"),  # noqa: B009 - T is any mapped class with an id
            details=kind.details(found),
        )
        return True

    pending = (
        getattr(kind.model, marker).is_(None),
        getattr(kind.model, kind.escalated_marker).is_(None),
    )
    return Step(act, pending)
