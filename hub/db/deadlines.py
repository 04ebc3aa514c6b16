"""A pass over the rows waiting on a deadline, written once for the referrals' acknowledgement
deadlines (`hub.referrals.deadlines`) and the consent officers' (`hub.reviews.deadlines`).

Three steps per urgency, escalation first, so a row long past its deadline is escalated at once
instead of being reminded and flagged on its way there: escalate (`escalate_after` past the
deadline), flag overdue (past it), remind (`remind_before` it). A step reads only the waiting
rows of one urgency due by then, through the index on the deadline, in batches; each row is
handled in its own small transaction, locked and skipped when another pass holds it, so one bad
row cannot hold back the others. Running it twice does nothing more: each step's `act` checks
and sets its own marker, and answers whether it did anything.

Each domain gives what differs as data (`Watched`: the table, its deadline, what waiting
means) and its three acts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

BATCH = 500

T = TypeVar("T")

# (the transaction, the locked row still waiting, now) → whether the step did anything
Act = Callable[[Session, T, datetime], bool]


class Window(Protocol):
    """A time limit (`hub.policy.rules.AcknowledgementWindow`)."""

    @property
    def remind_before(self) -> timedelta: ...

    @property
    def escalate_after(self) -> timedelta: ...


@dataclass(frozen=True)
class Watched(Generic[T]):
    """The rows a pass reads."""

    model: type[T]  # a mapped class with an `id`
    deadline: InstrumentedAttribute[Any]
    urgency: InstrumentedAttribute[str]
    waiting: ColumnElement[bool]  # the condition, in SQL
    still_waiting: Callable[[T], bool]  # the same, on the locked row (it may have moved)


@dataclass(frozen=True)
class Step(Generic[T]):
    act: Act[T]
    # rows still missing this step's marker, narrowed in SQL (the act checks again, locked)
    pending: tuple[ColumnElement[bool], ...] = ()


@dataclass
class Passed:
    """The ids each step acted on."""

    escalated: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)


def run(
    *,
    sessions: sessionmaker[Session],
    watched: Watched[T],
    windows: Iterable[tuple[str, Window]],
    escalate: Step[T],
    overdue: Step[T],
    remind: Step[T],
    now: datetime,
) -> Passed:
    """One pass (see the module): `windows` gives each urgency's time limit, in that order."""
    passed = Passed()
    for urgency, window in windows:
        steps = (
            (now - window.escalate_after, escalate, passed.escalated),
            (now, overdue, passed.overdue),
            (now + window.remind_before, remind, passed.reminded),
        )
        for due_by, step, done in steps:
            with sessions() as db:
                candidates = list(db.scalars(_due(watched, urgency, due_by, step.pending)))
            for row_id in candidates:
                with sessions.begin() as db:
                    row = _locked(db, watched, row_id)
                    if row is not None and step.act(db, row, now):
                        done.append(row_id)
    return passed


def _due(
    watched: Watched[T], urgency: str, due_by: datetime, pending: tuple[ColumnElement[bool], ...]
) -> Select[tuple[str]]:
    """Ids of waiting rows of one urgency due by then, still missing this step's marker."""
    row_id: InstrumentedAttribute[str] = watched.model.id  # type: ignore[attr-defined]
    return (
        select(row_id)
        .where(
            watched.waiting,
            watched.deadline <= due_by,
            watched.urgency == urgency,
            *pending,
        )
        .order_by(watched.deadline)
        .limit(BATCH)
    )


def _locked(db: Session, watched: Watched[T], row_id: str) -> T | None:
    """The row, locked, if it is still waiting (a party or an officer may have moved it)."""
    row_id_column = watched.model.id  # type: ignore[attr-defined]
    row = db.scalar(
        select(watched.model).where(row_id_column == row_id).with_for_update(skip_locked=True)
    )
    if row is None or not watched.still_waiting(row):
        return None
    return row
