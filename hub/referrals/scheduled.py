"""The referral flow's scheduled work: the deadline passes (the acknowledgement's,
`deadlines`, and the follow-up's past it, `follow_up`), and their notices on the outbox.

Notices are outbox messages so they survive a lost broker message. An organisation on a webhook
receives each as an event: the handlers are the delivery workflow's (`hub.delivery.tasks`),
which pushes, then calls `notice_pushed` here for the audit entry; on the inbox it sees
`overdue` and the status through the API.
"""

from __future__ import annotations

from celery import shared_task
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.lifecycle import Party
from hub.referrals import data_life, deadlines, follow_up
from hub.referrals.models import Referral
from hub.worker.celery_app import DEADLINES_TASK
from hub.worker.process import worker_runtime

# topic → (audit action, who is told); the topic is also the event a webhook receives. An
# escalation (a referral failed as never acknowledged, or a follow-up deadline long past)
# reaches both parties: the sender, and the recipient organisation, as the policy says.
BOTH = (Party.sender, Party.recipient)
NOTICE_ACTIONS: dict[str, tuple[str, tuple[Party, ...]]] = {
    deadlines.REMINDER_TOPIC: ("referral.reminder_queued", (Party.recipient,)),
    deadlines.OVERDUE_TOPIC: ("referral.overdue_notice_queued", (Party.sender,)),
    deadlines.FAILED_TOPIC: ("referral.failure_notice_queued", BOTH),
    follow_up.REMINDER_TOPIC: ("referral.follow_up_reminder_queued", (Party.recipient,)),
    follow_up.OVERDUE_TOPIC: ("referral.follow_up_overdue_notice_queued", (Party.sender,)),
    follow_up.ESCALATED_TOPIC: ("referral.escalation_notice_queued", BOTH),
}
ADDRESSEE = {Party.sender: "from_organization_id", Party.recipient: "to_organization_id"}


@shared_task(name=DEADLINES_TASK, acks_late=True, ignore_result=True)
def run_deadlines() -> None:
    runtime = worker_runtime()
    deadlines.run(runtime)
    follow_up.run(runtime)
    data_life.run(runtime)


def addressees(topic: str) -> tuple[Party, ...]:
    """Who is told of the deadline notice `topic`."""
    return NOTICE_ACTIONS[topic][1]


def notice_pushed(db: Session, *, topic: str, referral_id: str) -> None:
    """The audit entry of a deadline notice, once its pushes (if any) have gone out."""
    action, told = NOTICE_ACTIONS[topic]
    referral = db.get_one(Referral, referral_id)
    organizations = [getattr(referral, ADDRESSEE[to]) for to in told]
    record(
        db,
        actor="system:hub",
        action=action,
        object_type="referral",
        object_id=referral.id,
        details={
            "organization_id": organizations[0],
            "organization_ids": organizations,
            "status": referral.status,
            "due_move": referral.due_move,
        },
    )
