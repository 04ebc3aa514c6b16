"""Closing a review whose request no longer waits for it.

A review waits only while its referral or transfer is held (`pending_review`). When the request
leaves review by another route than the review's own decision (its sender cancels it, a consent
withdrawal cancels it), `hub.lifecycle.history.apply` closes the review here, in the same
transaction: it goes `withdrawn`, decided by whoever made the move, at that moment, with no
justification. It then leaves the officers' queue, the count of what waits and the time-limit
pass (all read pending reviews only), and deciding it answers 409 `review_decided`. The closing
is audited (`review.closed`, with the move's reason code); no `review.decided` message is sent:
the request has already moved and there is nothing left to act on.

Erasing a case closes its reviews the same way (the request moves `erase_case`, reason
`case_erased`), and `forget_case` then drops what a review kept of the case in clear.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.clock import utcnow
from hub.reviews.models import Review
from hub.reviews.schemas import ReviewStatus

# `hub.policy.rules.age_band` for a subject of no known age, whatever the policy's child ages
UNKNOWN_AGE_BAND = "unknown"


def close_pending(
    *,
    db: Session,
    kind: str,
    object_id: str,
    actor: str,
    move: str,
    reason_code: str | None,
) -> list[Review]:
    """Close the request's pending reviews (there is at most one); returns those closed.

    Locked: of an officer deciding and the request moving at once, whichever comes second sees
    the first's answer (the decision finds the review withdrawn; this finds it decided and
    leaves it alone).
    """
    pending = db.scalars(
        select(Review)
        .where(
            Review.kind == kind,
            Review.object_id == object_id,
            Review.status == ReviewStatus.pending.value,
        )
        .order_by(Review.created_at, Review.id)
        .with_for_update()
    ).all()
    now = utcnow()
    for review in pending:
        review.status = ReviewStatus.withdrawn.value
        review.decided_by = actor
        review.decided_at = now
        record(
            db,
            actor=actor,
            action="review.closed",
            object_type="review",
            object_id=review.id,
            details={
                "kind": review.kind,
                "object_id": review.object_id,
                "case_id": review.case_id,
                "decision_id": review.decision_id,
                "requesting_organization_id": review.requesting_organization_id,
                "move": move,
                "reason_code": reason_code,
            },
        )
    return list(pending)


def forget_case(*, db: Session, case_id: str) -> int:
    """Drop what the case's reviews hold in clear about its subject, once the case is erased:
    a justification written before justifications were sealed (migration 0009), and the age
    band read from the erased birth date (it becomes `unknown`, as for a request held after
    the erasure). What is sealed (the note, later justifications) went with the case's key;
    the gate's reason codes and category names stay, as they do in its decision. Returns how
    many reviews the case had."""
    result = db.execute(
        update(Review)
        .where(Review.case_id == case_id)
        .values(justification=None, age_band=UNKNOWN_AGE_BAND)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)
