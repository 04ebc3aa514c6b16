"""The referral flow's scheduled work: the deadline pass, and its notices on the outbox.

Notices are outbox messages so they survive a lost broker message; the recipient's channel
delivers them (the inbox shows `overdue` and the status; pushed channels carry them too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import shared_task
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.outbox.service import handler
from hub.referrals import deadlines
from hub.referrals.models import Referral
from hub.worker.celery_app import DEADLINES_TASK
from hub.worker.process import worker_runtime

if TYPE_CHECKING:
    from hub.runtime import Runtime

NOTICE_ACTIONS = {
    deadlines.REMINDER_TOPIC: ("referral.reminder_queued", "to_organization_id"),
    deadlines.OVERDUE_TOPIC: ("referral.overdue_notice_queued", "from_organization_id"),
    deadlines.FAILED_TOPIC: ("referral.failure_notice_queued", "from_organization_id"),
}


@shared_task(name=DEADLINES_TASK, acks_late=True, ignore_result=True)
def run_deadlines() -> None:
    deadlines.run(worker_runtime())


def _notice(topic: str) -> None:
    action, addressee = NOTICE_ACTIONS[topic]

    @handler(topic)
    def notify(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
        referral = db.get_one(Referral, payload["referral_id"])
        record(
            db,
            actor="system:hub",
            action=action,
            object_type="referral",
            object_id=referral.id,
            details={"organization_id": getattr(referral, addressee), "status": referral.status},
        )


for _topic in NOTICE_ACTIONS:
    _notice(_topic)
