"""The transfer flow's scheduled work: the offers' acceptance deadline pass, and its notices;
the transfer requests' answer deadline pass (`hub.transfers.requests.deadlines`).

Notices are outbox messages, so they survive a lost broker message; the handlers that push them
are the delivery workflow's (`hub.delivery.tasks`), which then calls `notice_pushed` here for
the audit entry. An organisation on the inbox sees the same in the transfer's `overdue` and
`escalated`.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.lifecycle import Party, reasons
from hub.transfers import deadlines
from hub.transfers.models import Transfer
from hub.transfers.requests import deadlines as request_deadlines
from hub.worker.celery_app import TRANSFER_DEADLINES_TASK
from hub.worker.process import worker_runtime

# topic → (audit action, who is told); the topic is also the event a webhook receives
NOTICE_ACTIONS: dict[str, tuple[str, tuple[Party, ...]]] = {
    deadlines.REMINDER_TOPIC: ("transfer.reminder_queued", (Party.recipient,)),
    deadlines.OVERDUE_TOPIC: ("transfer.overdue_notice_queued", (Party.sender,)),
    deadlines.ESCALATED_TOPIC: (
        "transfer.escalation_notice_queued",
        (Party.sender, Party.recipient),
    ),
}


@shared_task(name=TRANSFER_DEADLINES_TASK, acks_late=True, ignore_result=True)
def run_transfer_deadlines() -> None:
    runtime = worker_runtime()
    deadlines.run(runtime)
    # the transfer requests' answer deadlines, in the same scheduled pass
    request_deadlines.run(runtime)


def organization_of(transfer: Transfer, party: Party) -> str:
    if party is Party.sender:
        return transfer.from_organization_id
    return transfer.to_organization_id


def transfer_notice(event: str, transfer: Transfer, public_url: str) -> dict[str, Any]:
    """What the notice says: ids, codes and times only (never the plan)."""

    def time(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "event": event,
        "transfer": {
            "id": transfer.id,
            "from_organization_id": transfer.from_organization_id,
            "to_organization_id": transfer.to_organization_id,
            "status": transfer.status,
            "accept_by": time(transfer.accept_by),
            "escalated": transfer.escalated_at is not None,
        },
        "links": {"transfer": f"{public_url.rstrip('/')}/v1/transfers/{transfer.id}"},
    }


def notice_pushed(db: Session, *, topic: str, transfer_id: str) -> None:
    """The audit entry of a deadline notice, once its pushes (if any) have gone out."""
    action, told = NOTICE_ACTIONS[topic]
    transfer = db.get_one(Transfer, transfer_id)
    record(
        db,
        actor=reasons.SYSTEM_ACTOR,
        action=action,
        object_type="transfer",
        object_id=transfer.id,
        details={
            "organization_ids": [organization_of(transfer, party) for party in told],
            "status": transfer.status,
        },
    )
