"""Reviews: requests the consent gate held for a consent officer, and their decisions.

A review is opened by the flow that asked the gate (a referral or a transfer) when the gate
answered `review`. Consent officers of the requesting organisation or of an office above it in
the IOM hierarchy decide it, once, with a justification; whoever asked cannot (four eyes). The
decision is audited and an outbox message `review.decided` tells the requesting flow to send
(approved) or to mark the request denied (denied): a denied request never leaves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, literal, select
from sqlalchemy.orm import Session, aliased

from hub.api import pagination
from hub.api.problems import Conflict, NotFound, Problem
from hub.audit.service import record
from hub.clock import utcnow
from hub.consent.gate import Decision, Outcome
from hub.consent.models import GateDecision
from hub.organizations.models import Organization
from hub.outbox.service import enqueue
from hub.reviews.models import Review
from hub.reviews.schemas import ReviewKind, ReviewRead, ReviewStatus

DECIDED_TOPIC = "review.decided"
# deeper than any real office structure; stops the walk should the data ever hold a cycle
MAX_DEPTH = 16


class FourEyes(Problem):
    def __init__(self) -> None:
        super().__init__(
            403,
            "four_eyes",
            "The requester cannot decide their own request",
            "Another consent officer has to decide it.",
        )


class ReviewDecided(Conflict):
    def __init__(self, status: str) -> None:
        # `status` is the problem document's HTTP status: the review's goes under its own name
        super().__init__(
            "review_decided", "The review has already been decided", review_status=status
        )


def offices_at_or_below(organization_id: str) -> Select[Any]:
    """The organisation and every office below it in the IOM hierarchy (ids, as SQL)."""
    tree = (
        select(Organization.id.label("id"), literal(0).label("depth"))
        .where(Organization.id == organization_id)
        .cte("review_scope", recursive=True)
    )
    child = aliased(Organization)
    tree = tree.union_all(
        select(child.id, tree.c.depth + 1).where(
            child.parent_id == tree.c.id, tree.c.depth < MAX_DEPTH
        )
    )
    return select(tree.c.id)


def visible_to(organization_id: str) -> ColumnElement[bool]:
    """THE access rule for reviews, for single reads and lists alike: requests of the caller's
    organisation and of the offices below it."""
    return Review.requesting_organization_id.in_(offices_at_or_below(organization_id))


def open_review(
    *,
    db: Session,
    kind: str,
    object_id: str,
    case_id: str,
    requesting_organization_id: str,
    requested_by: str,
    decision: Decision,
) -> Review:
    """Hold a request the gate answered `review` for, until a consent officer decides."""
    if decision.outcome is not Outcome.review:
        raise ValueError("only a decision with outcome review is reviewed")
    if decision.case_id != case_id:
        raise ValueError("the decision is about another case")
    review = Review(
        kind=ReviewKind(kind).value,
        object_id=object_id,
        case_id=case_id,
        requesting_organization_id=requesting_organization_id,
        requested_by=requested_by,
        decision_id=decision.id,
        reasons=list(decision.reasons),
        status=ReviewStatus.pending.value,
        created_at=utcnow(),
    )
    db.add(review)
    # flushed for the generated id the audit entry refers to
    db.flush()
    record(
        db,
        actor=requested_by,
        action="review.opened",
        object_type="review",
        object_id=review.id,
        details={
            "kind": review.kind,
            "object_id": object_id,
            "case_id": case_id,
            "decision_id": decision.id,
            "codes": decision.codes,
        },
    )
    return review


def get(*, db: Session, review_id: str, organization_id: str) -> Review:
    """The review if the caller's organisation may see it; otherwise 404."""
    review = db.scalar(select(Review).where(Review.id == review_id, visible_to(organization_id)))
    if review is None:
        raise NotFound("review")
    return review


def read(*, db: Session, review: Review) -> ReviewRead:
    decision = db.get_one(GateDecision, review.decision_id)
    return _read(review, decision)


def _read(review: Review, decision: GateDecision) -> ReviewRead:
    return ReviewRead(
        id=review.id,
        kind=ReviewKind(review.kind),
        object_id=review.object_id,
        case_id=review.case_id,
        requesting_organization_id=review.requesting_organization_id,
        recipient_organization_id=decision.recipient_organization_id,
        purpose=decision.purpose,
        categories=list(decision.permitted_categories),
        withheld_categories=[
            c for c in decision.requested_categories if c not in decision.permitted_categories
        ],
        consent_ids=list(decision.consent_ids),
        reasons=list(review.reasons),
        status=ReviewStatus(review.status),
        requested_by=review.requested_by,
        created_at=review.created_at,
        decided_by=review.decided_by,
        decided_at=review.decided_at,
        justification=review.justification,
    )


def get_page(
    *,
    db: Session,
    organization_id: str,
    status: ReviewStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ReviewRead], str | None]:
    """Reviews the caller may decide, newest first; the access rule is part of the query."""
    query = (
        select(Review, GateDecision)
        .join(GateDecision, GateDecision.id == Review.decision_id)
        .where(visible_to(organization_id))
    )
    if status is not None:
        query = query.where(Review.status == status.value)
    query = pagination.page(
        query, time_column=Review.created_at, id_column=Review.id, cursor=cursor, limit=limit
    )
    rows = db.execute(query).all()
    cursor_next = pagination.next_cursor([row[0] for row in rows], limit, time_attr="created_at")
    return [_read(review, decision) for review, decision in rows[:limit]], cursor_next


def decide(*, db: Session, review: Review, actor: str, approve: bool, justification: str) -> Review:
    """Approve or deny a pending review, once, by someone other than its requester.

    Resolve the review with `get` first (that is the access check).
    """
    # locked, and read afresh: of two officers deciding at once, the second sees the first's
    db.refresh(review, with_for_update=True)
    if review.status != ReviewStatus.pending:
        raise ReviewDecided(review.status)
    if review.requested_by == actor:
        raise FourEyes()
    justification = justification.strip()
    if not justification:
        raise ValueError("a justification is required")
    status = ReviewStatus.approved if approve else ReviewStatus.denied
    review.status = status.value
    review.decided_by = actor
    review.decided_at = utcnow()
    review.justification = justification
    # the justification is free text and may name the person: it stays out of the audit log
    record(
        db,
        actor=actor,
        action=f"review.{status.value}",
        object_type="review",
        object_id=review.id,
        details={
            "kind": review.kind,
            "object_id": review.object_id,
            "case_id": review.case_id,
            "decision_id": review.decision_id,
            "requesting_organization_id": review.requesting_organization_id,
        },
    )
    enqueue(
        db=db,
        topic=DECIDED_TOPIC,
        payload={
            "review_id": review.id,
            "kind": review.kind,
            "object_id": review.object_id,
            "outcome": status.value,
        },
    )
    return review
