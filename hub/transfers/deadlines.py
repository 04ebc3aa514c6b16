"""A transfer offer's acceptance deadline: remind the recipient, flag the overdue, escalate.

The window is the policy's `follow_up.transfer_acceptance` (a transfer has no urgency): the
deadline is set when the offer is made (`offered`: at creation, or when a review's approval or
a resubmission releases it). The pass is `hub.db.deadlines`, shared with the referrals' and
the consent officers' deadlines: the recipient is reminded before the deadline, the sender told
at it (flagged overdue), and both organisations told past it (flagged escalated); at each step
the people the policy's `follow_up.notify` names are notified too. Nothing is
closed: the sender may cancel, the recipient may still answer. Running it twice does nothing
more: every step checks and sets its own marker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, literal

from hub.auth.tokens import person_of
from hub.clock import utcnow
from hub.db import deadlines as deadline_pass
from hub.db.deadlines import Watched
from hub.lifecycle import deadline_steps
from hub.lifecycle.deadline_steps import ESCALATION, OVERDUE, REMINDER, Flagged
from hub.notifications import service as notifications
from hub.policy.loader import Policy
from hub.services import Services
from hub.transfers.lifecycle import SENT
from hub.transfers.models import Transfer

REMINDER_TOPIC = "transfer.reminder"  # to the recipient
OVERDUE_TOPIC = "transfer.overdue"  # to the sender
ESCALATED_TOPIC = "transfer.escalated"  # to both
# a transfer has no urgency: its one window is read as `normal`
URGENCY = "normal"
# the move a transfer offer owes, as its notifications name it
STAGE = "acceptance"


@dataclass
class DeadlineReport:
    reminded: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


def offered(transfer: Transfer, policy: Policy, *, now: datetime | None = None) -> None:
    """The offer is made now: its acceptance deadline, markers cleared."""
    now = now or utcnow()
    transfer.accept_by = now + policy.follow_up.transfer_acceptance.deadline
    transfer.reminded_at = transfer.overdue_since = transfer.escalated_at = None


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    return and_(Transfer.status == SENT, Transfer.accept_by.is_not(None), Transfer.accept_by < now)


def is_overdue(transfer: Transfer, now: datetime) -> bool:
    return transfer.status == SENT and transfer.accept_by is not None and transfer.accept_by < now


WATCHED = Watched(
    model=Transfer,
    deadline=Transfer.accept_by,
    urgency=literal(URGENCY),  # type: ignore[arg-type]
    waiting=Transfer.status == SENT,
    still_waiting=lambda transfer: transfer.status == SENT,
)


def parties(transfer: Transfer) -> notifications.Parties:
    """What a transfer's notifications to people are about."""
    return notifications.Parties(
        sender_organization_id=transfer.from_organization_id,
        recipient_organization_id=transfer.to_organization_id,
        made_by=person_of(transfer.created_by),
    )


FLAGGED = Flagged(
    model=Transfer,
    object_type="transfer",
    markers={REMINDER: "reminded_at", OVERDUE: "overdue_since", ESCALATION: "escalated_at"},
    topics={REMINDER: REMINDER_TOPIC, OVERDUE: OVERDUE_TOPIC, ESCALATION: ESCALATED_TOPIC},
    actions={
        REMINDER: "transfer.reminded",
        OVERDUE: "transfer.overdue",
        ESCALATION: "transfer.escalated",
    },
    payload=lambda transfer: {"transfer_id": transfer.id},
    parties=parties,
    stage=lambda _: STAGE,
)


def run(runtime: Services, *, now: datetime | None = None) -> DeadlineReport:
    now = now or utcnow()
    steps = deadline_steps.steps(FLAGGED, runtime.policy.follow_up.notify)
    passed = deadline_pass.run(
        sessions=runtime.sessions,
        watched=WATCHED,
        windows=[(URGENCY, runtime.policy.follow_up.transfer_acceptance)],
        escalate=steps.escalate,
        overdue=steps.overdue,
        remind=steps.remind,
        now=now,
    )
    return DeadlineReport(
        reminded=passed.reminded, overdue=passed.overdue, escalated=passed.escalated
    )
