"""The outbox handler of a consent officer's decision: the request's own flow acts on it
(`hub.lifecycle.decisions`), whichever domain the request belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hub.lifecycle import decisions as decided
from hub.outbox.service import PermanentError, handler
from hub.reviews.schemas import ReviewStatus
from hub.reviews.service import DECIDED_TOPIC

if TYPE_CHECKING:
    from hub.services import Services


def review_decided(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
    flow = decided.FLOWS.get(payload["kind"])
    if flow is None:
        raise PermanentError(f"no flow for review kind {payload['kind']}")
    review_id = payload["review_id"]
    outcome = ReviewStatus(payload["outcome"])
    if outcome is ReviewStatus.returned:
        # sent back for correction: the request waits for its sender; nothing is sent
        decided.on_review_returned(db=db, keyring=runtime.keyring, flow=flow, review_id=review_id)
        return
    decided.on_review_decided(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        flow=flow,
        review_id=review_id,
        approved=outcome is ReviewStatus.approved,
    )


def install() -> None:
    handler(DECIDED_TOPIC)(review_decided)
