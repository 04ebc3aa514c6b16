"""A transfer request's answer deadline: remind the owner, flag the overdue, escalate, expire.

The window is the policy's `follow_up.transfer_request` (by the request's urgency, else its
default), counted from the request. The pass is `hub.db.deadlines`, as for the referrals' and
a transfer offer's deadlines, and runs with the transfers' scheduled job
(`hub.transfers.scheduled`): the people of `follow_up.notify` are told at each step (the
requester is the request's sender side, the owner its recipient side), and the organisations'
webhooks through the outbox (`hub.transfers.requests.notices`). A request still
unanswered `expire_after_hours` past its deadline expires (the table's `expire`, the hub's
move). Running it twice does nothing more: every step checks and sets its own marker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from hub.auth.tokens import person_of
from hub.clock import utcnow
from hub.db import deadlines as deadline_pass
from hub.db.deadlines import Watched
from hub.lifecycle import Party, deadline_steps, history, reasons
from hub.lifecycle.deadline_steps import ESCALATION, OVERDUE, REMINDER, Flagged
from hub.notifications import service as notifications
from hub.services import Services
from hub.transfers.requests.lifecycle import MOVES, REQUESTED
from hub.transfers.requests.models import TransferRequest
from hub.transfers.requests.notices import TOPIC_OF_STEP

OBJECT_TYPE = "transfer_request"
# the move a request owes, as its notifications name it
STAGE = "answer"
EXPIRED = "expired"  # the status reason of an expired request


@dataclass
class DeadlineReport:
    reminded: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)


def is_overdue(request: TransferRequest, now: datetime) -> bool:
    return request.status == REQUESTED and request.answer_by < now


WATCHED = Watched(
    model=TransferRequest,
    deadline=TransferRequest.answer_by,
    urgency=TransferRequest.urgency,
    waiting=TransferRequest.status == REQUESTED,
    still_waiting=lambda request: request.status == REQUESTED,
)


def parties(request: TransferRequest) -> notifications.Parties:
    """What a request's notifications to people are about: the requester is its sender side,
    the owner asked its recipient side."""
    return notifications.Parties(
        sender_organization_id=request.requester_organization_id,
        recipient_organization_id=request.owner_organization_id,
        made_by=person_of(request.created_by),
    )


FLAGGED = Flagged(
    model=TransferRequest,
    object_type=OBJECT_TYPE,
    markers={REMINDER: "reminded_at", OVERDUE: "overdue_since", ESCALATION: "escalated_at"},
    # the partners' systems hear of it as of a referral's deadline (`notices`)
    topics=TOPIC_OF_STEP,
    actions={
        REMINDER: "transfer_request.reminded",
        OVERDUE: "transfer_request.overdue",
        ESCALATION: "transfer_request.escalated",
    },
    payload=lambda request: {"request_id": request.id},
    parties=parties,
    stage=lambda _: STAGE,
    details=lambda request: {
        "requester_organization_id": request.requester_organization_id,
        "owner_organization_id": request.owner_organization_id,
    },
)


def run(runtime: Services, *, now: datetime | None = None) -> DeadlineReport:
    now = now or utcnow()
    rules = runtime.policy.follow_up
    steps = deadline_steps.steps(FLAGGED, rules.notify)
    passed = deadline_pass.run(
        sessions=runtime.sessions,
        watched=WATCHED,
        windows=rules.transfer_request.windows(),
        escalate=steps.escalate,
        overdue=steps.overdue,
        remind=steps.remind,
        now=now,
    )
    report = DeadlineReport(
        reminded=passed.reminded, overdue=passed.overdue, escalated=passed.escalated
    )
    due_by = now - rules.transfer_request.expire_after
    with runtime.sessions() as db:
        candidates = list(
            db.scalars(
                select(TransferRequest.id)
                .where(TransferRequest.status == REQUESTED, TransferRequest.answer_by <= due_by)
                .order_by(TransferRequest.answer_by)
                .limit(deadline_pass.BATCH)
            )
        )
    for request_id in candidates:
        with runtime.sessions.begin() as db:
            request = db.scalar(
                select(TransferRequest)
                .where(TransferRequest.id == request_id)
                .with_for_update(skip_locked=True)
            )
            if request is None or request.status != REQUESTED:
                continue
            history.apply(
                db=db,
                keyring=runtime.keyring,
                table=MOVES,
                object_type=OBJECT_TYPE,
                tracked=request,  # type: ignore[arg-type]
                action="expire",
                party=Party.system,
                actor=reasons.SYSTEM_ACTOR,
                organization_id=None,
                reason_code=EXPIRED,
            )
            report.expired.append(request_id)
    return report
