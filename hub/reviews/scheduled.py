"""The reviews' scheduled work: the time-limit pass, and its notices on the outbox.

Notices are outbox messages so they survive a lost broker message. The organisation whose
officers are to decide (the office a review was escalated to, else the requesting one) receives
each on its webhook, if it has one, as an event in ids and codes (`review.reminder`,
`review.overdue`, `review.escalated`); in the console its officers see the same in the queue
(overdue and escalated ones flagged, escalated ones first). The handlers that push them are
the delivery workflow's (`hub.delivery.tasks`); the notice's shape and its audit entry are here.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.reviews import deadlines
from hub.reviews.models import Review
from hub.worker.celery_app import REVIEW_DEADLINES_TASK
from hub.worker.process import worker_runtime

NOTICE_ACTIONS = {
    deadlines.REMINDER_TOPIC: "review.reminder_queued",
    deadlines.OVERDUE_TOPIC: "review.overdue_notice_queued",
    deadlines.ESCALATED_TOPIC: "review.escalation_notice_queued",
}


@shared_task(name=REVIEW_DEADLINES_TASK, acks_late=True, ignore_result=True)
def run_review_deadlines() -> None:
    deadlines.run(worker_runtime())


def review_notice(event: str, review: Review, public_url: str) -> dict[str, Any]:
    """What the notice says: ids, codes and times only (never the note or the justification)."""

    def time(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "event": event,
        "review": {
            "id": review.id,
            "kind": review.kind,
            "object_id": review.object_id,
            "requesting_organization_id": review.requesting_organization_id,
            "escalated_to_organization_id": review.escalated_to_organization_id,
            "urgency": review.urgency,
            "status": review.status,
            "due_at": time(review.due_at),
        },
        "links": {"review": f"{public_url.rstrip('/')}/v1/reviews/{review.id}"},
    }


def addressee(review: Review) -> str:
    """The organisation whose officers are to decide."""
    return review.escalated_to_organization_id or review.requesting_organization_id


def notice_pushed(db: Session, *, topic: str, review_id: str, organization_id: str) -> None:
    """The audit entry of a time-limit notice, once its push (if any) has gone out."""
    record(
        db,
        actor="system:hub",
        action=NOTICE_ACTIONS[topic],
        object_type="review",
        object_id=review_id,
        details={"organization_id": organization_id},
    )
