"""Reviews API for consent officers: the queue of their office and the offices below it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from hub.access.deps import Principal, require_scope
from hub.api.deps import CurrentRuntime, DbSession
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.api.problems import Unprocessable
from hub.reviews import service
from hub.reviews.schemas import ReviewDecide, ReviewOrder, ReviewPage, ReviewRead, ReviewStatus
from hub.services import Services

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])

Officer = Annotated[Principal, Depends(require_scope("reviews:decide"))]


@router.get("", response_model=ReviewPage)
def list_reviews(
    principal: Officer,
    db: DbSession,
    runtime: CurrentRuntime,
    status: ReviewStatus | None = None,
    order: Annotated[
        ReviewOrder,
        Query(description="priority: the pending ones, most urgent first, in one page"),
    ] = ReviewOrder.newest,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ReviewPage:
    org = principal.organization_id
    if order is ReviewOrder.priority:
        if status not in (None, ReviewStatus.pending) or cursor is not None:
            raise Unprocessable(
                "unsupported_order",
                "order=priority lists pending reviews, in one page",
                "Leave out cursor, and status or set it to pending.",
            )
        items = service.queue(
            db=db, keyring=runtime.keyring, organization_id=org, limit=limit, include_below=True
        )
        return ReviewPage(items=items, next=None)
    items, cursor_next = service.get_page(
        db=db,
        keyring=runtime.keyring,
        organization_id=org,
        status=status,
        cursor=cursor,
        limit=limit,
    )
    return ReviewPage(items=items, next=cursor_next)


@router.get("/{review_id}", response_model=ReviewRead)
def read_review(
    review_id: str, principal: Officer, db: DbSession, runtime: CurrentRuntime
) -> ReviewRead:
    review = service.get(db=db, review_id=review_id, organization_id=principal.organization_id)
    return service.read(db=db, keyring=runtime.keyring, review=review)


def _decide(
    review_id: str,
    body: ReviewDecide,
    principal: Principal,
    db: Session,
    runtime: Services,
    outcome: ReviewStatus,
) -> ReviewRead:
    review = service.get(db=db, review_id=review_id, organization_id=principal.organization_id)
    service.decide(
        db=db,
        review=review,
        actor=principal.actor,
        outcome=outcome,
        justification=body.justification,
    )
    return service.read(db=db, keyring=runtime.keyring, review=review)


@router.post("/{review_id}/approve", response_model=ReviewRead)
def approve_review(
    review_id: str, body: ReviewDecide, principal: Officer, db: DbSession, runtime: CurrentRuntime
) -> ReviewRead:
    return _decide(review_id, body, principal, db, runtime, ReviewStatus.approved)


@router.post("/{review_id}/deny", response_model=ReviewRead)
def deny_review(
    review_id: str, body: ReviewDecide, principal: Officer, db: DbSession, runtime: CurrentRuntime
) -> ReviewRead:
    return _decide(review_id, body, principal, db, runtime, ReviewStatus.denied)


@router.post("/{review_id}/return", response_model=ReviewRead)
def return_review(
    review_id: str, body: ReviewDecide, principal: Officer, db: DbSession, runtime: CurrentRuntime
) -> ReviewRead:
    """Send the request back to the requester for correction: it goes `returned`, and the
    requester resubmits it (the gate is asked again) or cancels it. A consent officer's act, by
    a person: a client acting for no one (no `On-Behalf-Of`) gets 403 `person_required`."""
    return _decide(review_id, body, principal, db, runtime, ReviewStatus.returned)
