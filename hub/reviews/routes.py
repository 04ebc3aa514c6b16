"""Reviews API for consent officers: the queue of their office and the offices below it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from hub.api.deps import DbSession
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.auth.deps import Principal, require_scope
from hub.reviews import service
from hub.reviews.schemas import ReviewDecide, ReviewPage, ReviewRead, ReviewStatus

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])

Officer = Annotated[Principal, Depends(require_scope("reviews:decide"))]


@router.get("", response_model=ReviewPage)
def list_reviews(
    principal: Officer,
    db: DbSession,
    status: ReviewStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ReviewPage:
    items, cursor_next = service.get_page(
        db=db,
        organization_id=principal.organization_id,
        status=status,
        cursor=cursor,
        limit=limit,
    )
    return ReviewPage(items=items, next=cursor_next)


@router.get("/{review_id}", response_model=ReviewRead)
def read_review(review_id: str, principal: Officer, db: DbSession) -> ReviewRead:
    review = service.get(db=db, review_id=review_id, organization_id=principal.organization_id)
    return service.read(db=db, review=review)


def _decide(
    review_id: str, body: ReviewDecide, principal: Principal, db: Session, *, approve: bool
) -> ReviewRead:
    review = service.get(db=db, review_id=review_id, organization_id=principal.organization_id)
    service.decide(
        db=db,
        review=review,
        actor=principal.actor,
        approve=approve,
        justification=body.justification,
    )
    return service.read(db=db, review=review)


@router.post("/{review_id}/approve", response_model=ReviewRead)
def approve_review(
    review_id: str, body: ReviewDecide, principal: Officer, db: DbSession
) -> ReviewRead:
    return _decide(review_id, body, principal, db, approve=True)


@router.post("/{review_id}/deny", response_model=ReviewRead)
def deny_review(
    review_id: str, body: ReviewDecide, principal: Officer, db: DbSession
) -> ReviewRead:
    return _decide(review_id, body, principal, db, approve=False)
