"""A deadline's three steps that flag an object and tell everyone concerned, written once for a
referral's follow-up, a transfer offer's acceptance and a transfer request's answer.

A step sets its marker once. It does nothing after an escalation, and an escalation flags the
object overdue too when it was not yet. It queues the partners' notice on the outbox, notifies
the people the policy names (`follow_up.notify`) and writes the audit entry, all in the
transaction of the pass (`hub.db.deadlines`), which locks the row. What differs between the
objects is data: `Flagged`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.db.deadlines import Step
from hub.lifecycle import reasons
from hub.notifications import service as notifications
from hub.outbox.service import enqueue
from hub.policy.rules import Audience, Notify

T = TypeVar("T")

# the pass's steps, as the notifications and the policy's `notify` name them
REMINDER, OVERDUE, ESCALATION = "reminder", "overdue", "escalation"


def _no_details(_: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Flagged(Generic[T]):
    """An object whose deadline steps flag it (a mapped class with an `id`). Each mapping is by
    step (`REMINDER`, `OVERDUE`, `ESCALATION`)."""

    model: type[T]
    object_type: str
    # the attribute each step sets once
    markers: Mapping[str, str]
    # the partners' notice each step queues, and the audit action it writes
    topics: Mapping[str, str]
    actions: Mapping[str, str]
    # the outbox payload of the partners' notice
    payload: Callable[[T], dict[str, Any]]
    # the organisations and the person the people's notifications are about, and the move owed
    parties: Callable[[T], notifications.Parties]
    stage: Callable[[T], str | None]
    # the audit entry's details: ids and codes only
    details: Callable[[T], dict[str, Any]] = field(default=_no_details)


class Steps(NamedTuple, Generic[T]):
    escalate: Step[T]
    overdue: Step[T]
    remind: Step[T]


def steps(kind: Flagged[T], notify: Notify) -> Steps[T]:
    """The three steps of `kind`, telling the people `notify` names at each."""
    return Steps(
        escalate=_step(kind, ESCALATION, notify.escalation),
        overdue=_step(kind, OVERDUE, notify.overdue),
        remind=_step(kind, REMINDER, notify.reminder),
    )


def _step(kind: Flagged[T], step: str, audiences: tuple[Audience, ...]) -> Step[T]:
    marker = kind.markers[step]
    escalated, overdue = kind.markers[ESCALATION], kind.markers[OVERDUE]
    escalating = step == ESCALATION

    def act(db: Session, found: T, now: datetime) -> bool:
        if getattr(found, marker) is not None:
            return False
        if not escalating and getattr(found, escalated) is not None:
            return False
        setattr(found, marker, now)
        if escalating and getattr(found, overdue) is None:
            setattr(found, overdue, now)
        object_id: str = getattr(found, "id")  # noqa: B009 - T is any mapped class with an id
        enqueue(db=db, topic=kind.topics[step], payload=kind.payload(found))
        notifications.announce(
            db,
            audiences=audiences,
            object_type=kind.object_type,
            object_id=object_id,
            step=step,
            stage=kind.stage(found),
            parties=kind.parties(found),
        )
        record(
            db,
            actor=reasons.SYSTEM_ACTOR,
            action=kind.actions[step],
            object_type=kind.object_type,
            object_id=object_id,
            details=kind.details(found),
        )
        return True

    pending = (getattr(kind.model, marker).is_(None), getattr(kind.model, escalated).is_(None))
    return Step(act, pending)
