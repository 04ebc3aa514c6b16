"""Acknowledgement deadlines: remind the recipient, flag the overdue, fail the abandoned.

Windows come from the policy by urgency (`acknowledgement:` in specs/policy.yaml). Each step
reads only referrals still waiting for an acknowledgement, through the index on
(status, acknowledge_by), one urgency at a time, in batches; each referral is handled in its
own small transaction so one bad row cannot hold back the others. Running it twice does
nothing more: every step checks and sets its own marker (reminded_at, overdue_since, status).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.clock import utcnow
from hub.lifecycle import Party, reasons
from hub.outbox.service import enqueue
from hub.referrals import service
from hub.referrals.lifecycle import AWAITING_ACKNOWLEDGEMENT
from hub.referrals.models import Referral
from hub.runtime import Runtime

REMINDER_TOPIC = "referral.reminder"
OVERDUE_TOPIC = "referral.overdue"
FAILED_TOPIC = "referral.failed"
NOT_ACKNOWLEDGED = "not_acknowledged"
BATCH = 500


@dataclass
class DeadlineReport:
    reminded: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _waiting(urgency: str, due_by: datetime, *pending: ColumnElement[bool]) -> Select[tuple[str]]:
    """Ids of waiting referrals of one urgency due by then, still missing this step's marker."""
    return (
        select(Referral.id)
        .where(
            Referral.status.in_(sorted(AWAITING_ACKNOWLEDGEMENT)),
            Referral.acknowledge_by <= due_by,
            Referral.urgency == urgency,
            *pending,
        )
        .order_by(Referral.acknowledge_by)
        .limit(BATCH)
    )


def _locked(db: Session, referral_id: str) -> Referral | None:
    """The referral, locked, if it is still waiting (a party may have moved it meanwhile)."""
    referral = db.scalar(
        select(Referral).where(Referral.id == referral_id).with_for_update(skip_locked=True)
    )
    if referral is None or referral.status not in AWAITING_ACKNOWLEDGEMENT:
        return None
    return referral


def _remind(db: Session, referral: Referral, now: datetime) -> bool:
    if referral.reminded_at is not None:
        return False
    referral.reminded_at = now
    enqueue(db=db, topic=REMINDER_TOPIC, payload={"referral_id": referral.id})
    record(
        db,
        actor=reasons.SYSTEM_ACTOR,
        action="referral.reminded",
        object_type="referral",
        object_id=referral.id,
        details={"urgency": referral.urgency},
    )
    return True


def _flag_overdue(db: Session, referral: Referral, now: datetime) -> bool:
    if referral.overdue_since is not None:
        return False
    referral.overdue_since = now
    enqueue(db=db, topic=OVERDUE_TOPIC, payload={"referral_id": referral.id})
    record(
        db,
        actor=reasons.SYSTEM_ACTOR,
        action="referral.overdue",
        object_type="referral",
        object_id=referral.id,
        details={"urgency": referral.urgency},
    )
    return True


def _fail(db: Session, runtime: Runtime, referral: Referral, now: datetime) -> bool:
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
    return True


def run(runtime: Runtime, *, now: datetime | None = None) -> DeadlineReport:
    """One pass over the waiting referrals: escalation first, so a referral long past its
    deadline fails at once instead of being reminded and flagged on its way there."""
    now = now or utcnow()
    report = DeadlineReport()
    ack = runtime.policy.acknowledgement
    for urgency in type(ack).model_fields:
        window = ack.window(urgency)
        steps = (
            (now - window.escalate_after, report.failed, lambda db, r: _fail(db, runtime, r, now)),
            (now, report.overdue, lambda db, r: _flag_overdue(db, r, now)),
            (now + window.remind_before, report.reminded, lambda db, r: _remind(db, r, now)),
        )
        for due_by, done, act in steps:
            with runtime.sessions() as db:
                candidates = list(db.scalars(_waiting(urgency, due_by)))
            for referral_id in candidates:
                with runtime.sessions.begin() as db:
                    referral = _locked(db, referral_id)
                    if referral is not None and act(db, referral):
                        done.append(referral_id)
    return report
