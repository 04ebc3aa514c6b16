"""What a consent officer's approval covers: the review triggers they said yes to."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.reviews.models import Review
from hub.reviews.schemas import ReviewStatus


def approved_codes(review: Review | None) -> frozenset[str]:
    """The trigger codes an approved review covered; nothing for any other review."""
    if review is None or review.status != ReviewStatus.approved:
        return frozenset()
    return frozenset(reason["code"] for reason in review.reasons)


def approved_for(db: Session, review_id: str | None) -> frozenset[str]:
    """`approved_codes` of the request's current review, by id (None: no review)."""
    return approved_codes(db.get(Review, review_id) if review_id else None)
