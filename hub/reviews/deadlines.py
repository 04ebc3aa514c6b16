"""Consent officers' time limits: remind before the deadline, flag the overdue, escalate.

Each review's deadline (`due_at`) is set when it opens, from the policy by urgency (`reviews:`
in specs/policy.yaml). A pass reads only pending reviews due by then, through the index on
`due_at`, one urgency at a time, in batches; each review is handled in its own small
transaction (locked, skipping one another pass holds), so one bad row cannot hold back the
others (the pass is `hub.db.deadlines`, shared with the referrals' acknowledgement
deadlines). Running it twice does nothing more: each step checks and sets its own marker
(reminded_at, overdue_since, escalated_at). Escalation goes to the office above the
requesting organisation, whose officers then find it in their queue; with no office above,
the review is still marked escalated (and stays at the top of the queue): a held emergency
request is never left waiting silently. Each step is audited and announced on the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.clock import utcnow
from hub.db import deadlines as deadline_pass
from hub.db.deadlines import Step, Watched
from hub.organizations.models import Organization
from hub.outbox.service import enqueue
from hub.policy.legal_bases import CONSENT
from hub.reviews.models import Review
from hub.reviews.opening import tell_officers
from hub.reviews.schemas import ReviewStatus
from hub.services import Services

REMINDER_TOPIC = "review.reminder"
OVERDUE_TOPIC = "review.overdue"
ESCALATED_TOPIC = "review.escalated"
SYSTEM_ACTOR = "system:hub"
# the step each notice is to the people told of a review on a legal basis
STEPS = {REMINDER_TOPIC: "reminder", OVERDUE_TOPIC: "overdue", ESCALATED_TOPIC: "escalation"}


@dataclass
class ReviewDeadlineReport:
    reminded: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


def _still_pending(review: Review) -> bool:
    return review.status == ReviewStatus.pending


WATCHED = Watched(
    model=Review,
    deadline=Review.due_at,
    urgency=Review.urgency,
    waiting=Review.status == ReviewStatus.pending.value,
    still_waiting=_still_pending,
)


def _announce(db: Session, review: Review, topic: str, action: str, **details: object) -> None:
    payload = {"review_id": review.id, "kind": review.kind, "object_id": review.object_id}
    enqueue(db=db, topic=topic, payload=payload)
    if review.legal_basis != CONSENT:
        tell_officers(db, review, STEPS[topic])
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


def run(runtime: Services, *, now: datetime | None = None) -> ReviewDeadlineReport:
    """One pass over the pending reviews (`hub.db.deadlines`): escalation first, so a review
    long past its deadline is escalated at once instead of being reminded and flagged on its
    way there. An escalated review is neither reminded nor flagged again."""
    now = now or utcnow()
    not_escalated = Review.escalated_at.is_(None)
    passed = deadline_pass.run(
        sessions=runtime.sessions,
        watched=WATCHED,
        windows=runtime.policy.reviews.windows(),
        escalate=Step(_escalate, (not_escalated,)),
        overdue=Step(_flag_overdue, (Review.overdue_since.is_(None), not_escalated)),
        remind=Step(_remind, (Review.reminded_at.is_(None), not_escalated)),
        now=now,
    )
    return ReviewDeadlineReport(
        reminded=passed.reminded, overdue=passed.overdue, escalated=passed.escalated
    )
