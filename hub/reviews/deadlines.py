"""Consent officers' time limits: remind before the deadline, flag the overdue, escalate.

Each review's deadline (`due_at`) is set when it opens, from the policy by urgency (`reviews:`
in specs/policy.yaml). A pass reads only pending reviews due by then, through the index on
`due_at`, one urgency at a time, in batches; each review is handled in its own small
transaction (locked, skipping one another pass holds), so one bad row cannot hold back the
others. Running it twice does nothing more: each step checks and sets its own marker
(reminded_at, overdue_since, escalated_at). Escalation goes to the office above the
requesting organisation, whose officers then find it in their queue; with no office above,
the review is still marked escalated (and stays at the top of the queue): a held emergency
request is never left waiting silently. Each step is audited and announced on the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.clock import utcnow
from hub.organizations.models import Organization
from hub.outbox.service import enqueue
from hub.reviews.models import Review
from hub.reviews.schemas import ReviewStatus
from hub.runtime import Runtime

REMINDER_TOPIC = "review.reminder"
OVERDUE_TOPIC = "review.overdue"
ESCALATED_TOPIC = "review.escalated"
SYSTEM_ACTOR = "system:hub"
BATCH = 500


@dataclass
class ReviewDeadlineReport:
    reminded: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


def _due(urgency: str, due_by: datetime, *pending: ColumnElement[bool]) -> Select[tuple[str]]:
    """Ids of pending reviews of one urgency due by then, still missing this step's marker."""
    return (
        select(Review.id)
        .where(
            Review.status == ReviewStatus.pending.value,
            Review.due_at <= due_by,
            Review.urgency == urgency,
            *pending,
        )
        .order_by(Review.due_at)
        .limit(BATCH)
    )


def _locked(db: Session, review_id: str) -> Review | None:
    """The review, locked, if it is still pending (an officer may have decided meanwhile)."""
    review = db.scalar(
        select(Review).where(Review.id == review_id).with_for_update(skip_locked=True)
    )
    if review is None or review.status != ReviewStatus.pending:
        return None
    return review


def _announce(db: Session, review: Review, topic: str, action: str, **details: object) -> None:
    payload = {"review_id": review.id, "kind": review.kind, "object_id": review.object_id}
    enqueue(db=db, topic=topic, payload=payload)
    record(
        db,
        actor=SYSTEM_ACTOR,
        action=action,
        object_type="review",
        object_id=review.id,
        details={
            "urgency": review.urgency,
            "requesting_organization_id": review.requesting_organization_id,
            "due_at": review.due_at.isoformat() if review.due_at else None,
            **details,
        },
    )


def _remind(db: Session, review: Review, now: datetime) -> bool:
    if review.reminded_at is not None or review.escalated_at is not None:
        return False
    review.reminded_at = now
    _announce(db, review, REMINDER_TOPIC, "review.reminded")
    return True


def _flag_overdue(db: Session, review: Review, now: datetime) -> bool:
    if review.overdue_since is not None or review.escalated_at is not None:
        return False
    review.overdue_since = now
    _announce(db, review, OVERDUE_TOPIC, "review.overdue")
    return True


def _escalate(db: Session, review: Review, now: datetime) -> bool:
    if review.escalated_at is not None:
        return False
    if review.overdue_since is None:
        review.overdue_since = now
    requester = db.get_one(Organization, review.requesting_organization_id)
    review.escalated_at = now
    review.escalated_to_organization_id = requester.parent_id
    _announce(
        db,
        review,
        ESCALATED_TOPIC,
        "review.escalated",
        escalated_to_organization_id=requester.parent_id,
    )
    return True


Step = Callable[[Session, Review, datetime], bool]


def run(runtime: Runtime, *, now: datetime | None = None) -> ReviewDeadlineReport:
    """One pass over the pending reviews: escalation first, so a review long past its deadline
    is escalated at once instead of being reminded and flagged on its way there."""
    now = now or utcnow()
    report = ReviewDeadlineReport()
    limits = runtime.policy.reviews
    for urgency in type(limits).model_fields:
        window = limits.window(urgency)
        steps: tuple[tuple[Select[tuple[str]], list[str], Step], ...] = (
            (
                _due(urgency, now - window.escalate_after, Review.escalated_at.is_(None)),
                report.escalated,
                _escalate,
            ),
            (
                _due(urgency, now, Review.overdue_since.is_(None), Review.escalated_at.is_(None)),
                report.overdue,
                _flag_overdue,
            ),
            (
                _due(
                    urgency,
                    now + window.remind_before,
                    Review.reminded_at.is_(None),
                    Review.escalated_at.is_(None),
                ),
                report.reminded,
                _remind,
            ),
        )
        for query, done, act in steps:
            with runtime.sessions() as db:
                candidates = list(db.scalars(query))
            for review_id in candidates:
                with runtime.sessions.begin() as db:
                    review = _locked(db, review_id)
                    if review is not None and act(db, review, now):
                        done.append(review_id)
    return report
