"""What a partner's system is told of a transfer request's answer deadline, as for a referral's
or a transfer offer's: the owner is reminded (`transfer_request.reminder`), the requester learns
it is overdue (`transfer_request.overdue`), an escalation reaches both
(`transfer_request.escalated`).

The deadline pass (`hub.transfers.requests.deadlines`) queues one outbox message per step,
beside the people's notifications; the delivery workflow's handler (`hub.delivery.tasks`)
pushes it to each organisation's webhook, if it has one (one on the inbox sees the same in the
request's `overdue` and `escalated`), then calls `notice_pushed` for the audit entry. Ids,
codes and times only: never the request's words, never the owner's case (the requester must
not learn whether the hub matched one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.lifecycle import Party, reasons
from hub.transfers.requests.models import TransferRequest

OBJECT_TYPE = "transfer_request"
REMINDER_TOPIC = "transfer_request.reminder"  # to the owner
OVERDUE_TOPIC = "transfer_request.overdue"  # to the requester
ESCALATED_TOPIC = "transfer_request.escalated"  # to both
# topic → (audit action once pushed, who is told); the topic is also the webhook's event
NOTICE_ACTIONS: dict[str, tuple[str, tuple[Party, ...]]] = {
    REMINDER_TOPIC: ("transfer_request.reminder_queued", (Party.recipient,)),
    OVERDUE_TOPIC: ("transfer_request.overdue_notice_queued", (Party.sender,)),
    ESCALATED_TOPIC: (
        "transfer_request.escalation_notice_queued",
        (Party.sender, Party.recipient),
    ),
}
# the deadline pass's step → the topic it queues
TOPIC_OF_STEP = {
    "reminder": REMINDER_TOPIC,
    "overdue": OVERDUE_TOPIC,
    "escalation": ESCALATED_TOPIC,
}


def organization_of(request: TransferRequest, party: Party) -> str:
    """The requester is the request's sender side, the owner asked its recipient side."""
    if party is Party.sender:
        return request.requester_organization_id
    return request.owner_organization_id


def request_notice(event: str, request: TransferRequest, public_url: str) -> dict[str, Any]:
    """What the notice says: ids, codes and times only."""

    def time(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "event": event,
        "transfer_request": {
            "id": request.id,
            "requester_organization_id": request.requester_organization_id,
            "owner_organization_id": request.owner_organization_id,
            "status": request.status,
            "urgency": request.urgency,
            "answer_by": time(request.answer_by),
            "escalated": request.escalated_at is not None,
        },
        "links": {
            "transfer_request": f"{public_url.rstrip('/')}/v1/transfer-requests/{request.id}"
        },
    }


def notice_pushed(db: Session, *, topic: str, request_id: str) -> None:
    """The audit entry of a deadline notice, once its pushes (if any) have gone out."""
    action, told = NOTICE_ACTIONS[topic]
    request = db.get_one(TransferRequest, request_id)
    record(
        db,
        actor=reasons.SYSTEM_ACTOR,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=request.id,
        details={
            "organization_ids": [organization_of(request, party) for party in told],
            "status": request.status,
        },
    )
