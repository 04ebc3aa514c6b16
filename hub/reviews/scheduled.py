"""The reviews' scheduled work: the time-limit pass, and its notices on the outbox.

Notices are outbox messages so they survive a lost broker message. The organisation whose
officers are to decide (the office a review was escalated to, else the requesting one) receives
each on its webhook, if it has one, as an event in ids and codes (`review.reminder`,
`review.overdue`, `review.escalated`); in the console its officers see the same in the queue
(overdue and escalated ones flagged, escalated ones first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import shared_task
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.delivery import notices
from hub.db.session import transaction
from hub.outbox.service import handler
from hub.reviews import deadlines
from hub.reviews.models import Review
from hub.worker.celery_app import REVIEW_DEADLINES_TASK
from hub.worker.process import worker_runtime

if TYPE_CHECKING:
    from hub.runtime import Runtime

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


def _addressee(review: Review) -> str:
    return review.escalated_to_organization_id or review.requesting_organization_id


def _notice(topic: str) -> None:
    action = NOTICE_ACTIONS[topic]

    @handler(topic)
    def notify(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
        review_id = payload["review_id"]
        # pushed first (no lock held while a partner answers); once per review and topic
        with transaction(runtime.sessions) as read:
            review = read.get(Review, review_id)
            if review is None:
                return
            shaped = review_notice(topic, review, runtime.settings.public_url)
            organization_id = _addressee(review)
        notices.push(
            runtime,
            organization_id=organization_id,
            delivery_id=notices.notice_id(topic, review_id),
            shaped=shaped,
        )
        record(
            db,
            actor="system:hub",
            action=action,
            object_type="review",
            object_id=review_id,
            details={"organization_id": organization_id},
        )


for _topic in NOTICE_ACTIONS:
    _notice(_topic)
