"""Acknowledgement deadlines: remind the recipient, flag the overdue, fail the abandoned.

Windows come from the policy by urgency (`acknowledgement:` in specs/policy.yaml). Each step
reads only referrals still waiting for an acknowledgement, through the index on
(status, acknowledge_by), one urgency at a time, in batches; each referral is handled in its
own small transaction so one bad row cannot hold back the others (the pass is
`hub.db.deadlines`, shared with the consent officers' deadlines). Running it twice does
nothing more: every step checks and sets its own marker (reminded_at, overdue_since, status).
At each step the people the policy's `follow_up.notify` names are notified too, as for the
follow-up deadlines (stage `acknowledge`; its escalation is the failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.clock import utcnow
from hub.db import deadlines as deadline_pass
from hub.db.deadlines import Act, Step, Watched
from hub.lifecycle import Party, reasons
from hub.outbox.service import enqueue
from hub.policy.rules import Notify
from hub.referrals import service
from hub.referrals.follow_up import tell_people
from hub.referrals.lifecycle import AWAITING_ACKNOWLEDGEMENT
from hub.referrals.models import Referral
from hub.services import Services

REMINDER_TOPIC = "referral.reminder"
OVERDUE_TOPIC = "referral.overdue"
FAILED_TOPIC = "referral.failed"
NOT_ACKNOWLEDGED = "not_acknowledged"
# the deadline's name in the people's notifications (`follow_up.notify` names who, at each step:
# the reminder, overdue, and the escalation, which fails the referral)
STAGE = "acknowledge"
STEPS = {"reminded_at": "reminder", "overdue_since": "overdue"}


@dataclass
class DeadlineReport:
    reminded: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _still_waiting(referral: Referral) -> bool:
    return referral.status in AWAITING_ACKNOWLEDGEMENT


WATCHED = Watched(
    model=Referral,
    deadline=Referral.acknowledge_by,
    urgency=Referral.urgency,
    waiting=Referral.status.in_(sorted(AWAITING_ACKNOWLEDGEMENT)),
    still_waiting=_still_waiting,
)


def _mark(marker: str, topic: str, action: str, notify: Notify) -> Act[Referral]:
    """A step that sets its marker (`reminded_at`, `overdue_since`) once, tells the recipient
    (`topic`) and the people the policy names for the step, and audits it (`action`)."""
    step = STEPS[marker]

    def act(db: Session, referral: Referral, now: datetime) -> bool:
        if getattr(referral, marker) is not None:
            return False
        setattr(referral, marker, now)
        enqueue(db=db, topic=topic, payload={"referral_id": referral.id})
        tell_people(db, referral, audiences=notify.audiences(step), step=step, stage=STAGE)
        record(
            db,
            actor=reasons.SYSTEM_ACTOR,
            action=action,
            object_type="referral",
            object_id=referral.id,
            details={"urgency": referral.urgency},
        )
        return True

    return act


def _fail(db: Session, runtime: Services, referral: Referral, now: datetime) -> bool:
    if referral.overdue_since is None:
        referral.overdue_since = now
    service.move(
        db=db,
        keyring=runtime.keyring,
        referral=referral,
        action="fail",
        party=Party.system,
        actor=reasons.SYSTEM_ACTOR,
        organization_id=None,
        reason_code=NOT_ACKNOWLEDGED,
    )
    enqueue(db=db, topic=FAILED_TOPIC, payload={"referral_id": referral.id})
    notify = runtime.policy.follow_up.notify
    tell_people(db, referral, audiences=notify.escalation, step="escalation", stage=STAGE)
    return True


def run(runtime: Services, *, now: datetime | None = None) -> DeadlineReport:
    """One pass over the waiting referrals (`hub.db.deadlines`): failing the abandoned first,
    so a referral long past its deadline fails at once instead of being reminded and flagged
    on its way there."""
    now = now or utcnow()
    notify = runtime.policy.follow_up.notify
    passed = deadline_pass.run(
        sessions=runtime.sessions,
        watched=WATCHED,
        windows=runtime.policy.acknowledgement.windows(),
        escalate=Step(lambda db, referral, at: _fail(db, runtime, referral, at)),
        overdue=Step(_mark("overdue_since", OVERDUE_TOPIC, "referral.overdue", notify)),
        remind=Step(_mark("reminded_at", REMINDER_TOPIC, "referral.reminded", notify)),
        now=now,
    )
    return DeadlineReport(reminded=passed.reminded, overdue=passed.overdue, failed=passed.escalated)
