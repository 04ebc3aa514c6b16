"""The referral flow's scheduled work: the deadline pass, and its notices on the outbox.

Notices are outbox messages so they survive a lost broker message. An organisation on a webhook
receives each as an event (`hub.delivery.notices`); on the inbox it sees `overdue` and the
status through the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import shared_task
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.delivery import notices
from hub.lifecycle import Party
from hub.outbox.service import handler
from hub.referrals import deadlines
from hub.referrals.models import Referral
from hub.worker.celery_app import DEADLINES_TASK
from hub.worker.process import worker_runtime

if TYPE_CHECKING:
    from hub.runtime import Runtime

# topic → (audit action, who is told); the topic is also the event a webhook receives
NOTICE_ACTIONS = {
    deadlines.REMINDER_TOPIC: ("referral.reminder_queued", Party.recipient),
    deadlines.OVERDUE_TOPIC: ("referral.overdue_notice_queued", Party.sender),
    deadlines.FAILED_TOPIC: ("referral.failure_notice_queued", Party.sender),
}
ADDRESSEE = {Party.sender: "from_organization_id", Party.recipient: "to_organization_id"}


@shared_task(name=DEADLINES_TASK, acks_late=True, ignore_result=True)
def run_deadlines() -> None:
    deadlines.run(worker_runtime())


def _notice(topic: str) -> None:
    action, addressee = NOTICE_ACTIONS[topic]

    @handler(topic)
    def notify(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
        # pushed first (no lock held while a partner answers); once per referral and topic
        notices.push_about_referral(
            runtime, referral_id=payload["referral_id"], event=topic, to=addressee, key=topic
        )
        referral = db.get_one(Referral, payload["referral_id"])
        record(
            db,
            actor="system:hub",
            action=action,
            object_type="referral",
            object_id=referral.id,
            details={
                "organization_id": getattr(referral, ADDRESSEE[addressee]),
                "status": referral.status,
            },
        )


for _topic in NOTICE_ACTIONS:
    _notice(_topic)
