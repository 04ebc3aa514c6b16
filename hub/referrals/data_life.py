"""Data life on the recipients' side: before the erase-by date of what a recipient received
under a referral it is reminded, and past it, without its confirmation of the erasure, the
referral's sender is told it is overdue (`data_life:` in specs/policy.yaml).

Dates live on the disclosures (`hub.disclosures`: each its own erase-by date, the recipient's
confirmation covers a referral's). One pass (`run`, on the deadlines' schedule) takes, per
referral, the disclosures still waiting: those within `remind_before_days` of their date and not
yet reminded, then those past it and not yet flagged. For each referral it sets the markers,
queues one notice on the outbox (`referral.erase_reminder` to the recipient's webhook,
`referral.erase_overdue` to the sender's; pushed by `hub.delivery.tasks` with the date), tells
the people `data_life.notify` names (`hub.notifications`, stage `data_life`) and writes an audit
entry. Running it again does nothing more. Nothing is erased by the hub here: the data is at the
recipient; the hub's own retention is another matter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.clock import utcnow
from hub.db.session import transaction
from hub.disclosures.erasure import waiting
from hub.disclosures.models import Disclosure
from hub.lifecycle import Party, reasons
from hub.outbox.service import enqueue
from hub.policy.rules import Audience
from hub.referrals.follow_up import tell_people
from hub.referrals.models import Referral
from hub.services import Services

REMINDER_TOPIC = "referral.erase_reminder"  # to the recipient
OVERDUE_TOPIC = "referral.erase_overdue"  # to the sender
STAGE = "data_life"
# topic → (audit action once pushed, who is told)
NOTICE_ACTIONS: dict[str, tuple[str, Party]] = {
    REMINDER_TOPIC: ("referral.erase_reminder_queued", Party.recipient),
    OVERDUE_TOPIC: ("referral.erase_overdue_notice_queued", Party.sender),
}
BATCH = 500


@dataclass(frozen=True)
class Erasure:
    """Where the erasure of what an organisation received under a referral stands, read without
    disclosing anything (the console's recipient page and its confirmation page): the erase-by
    date still owed (the earliest of the disclosures not yet confirmed; once all are, the
    earliest of all; None: no limit), how many wait, and the latest confirmation."""

    erase_by: datetime | None
    waiting: int
    confirmed_at: datetime | None
    confirmed_by: str | None


def erasure_of(db: Session, *, referral_id: str, organization_id: str) -> Erasure | None:
    """The erasure of what `organization_id` received under the referral; None when it received
    nothing (nothing to erase, nothing to confirm: the confirmation would be a 404)."""
    rows = list(
        db.scalars(
            select(Disclosure).where(
                Disclosure.referral_id == referral_id,
                Disclosure.recipient_organization_id == organization_id,
            )
        )
    )
    if not rows:
        return None
    open_rows = [row for row in rows if row.erasure_confirmed_at is None]
    dates = [row.erase_by for row in (open_rows or rows) if row.erase_by is not None]
    confirmed = [row for row in rows if row.erasure_confirmed_at is not None]
    latest = max(confirmed, key=lambda row: row.erasure_confirmed_at) if confirmed else None  # type: ignore[arg-type,return-value]
    return Erasure(
        erase_by=min(dates) if dates else None,
        waiting=len(open_rows),
        confirmed_at=latest.erasure_confirmed_at if latest else None,
        confirmed_by=latest.erasure_confirmed_by if latest else None,
    )


def erase_by_dates(
    db: Session, *, referral_ids: list[str], organization_id: str
) -> dict[str, datetime]:
    """Of these referrals, the erase-by date each still owes `organization_id` (the earliest
    of what it received and has not confirmed erased), for a list: one query, nothing read
    but dates. Referrals with nothing waiting are left out."""
    if not referral_ids:
        return {}
    rows = db.execute(
        select(Disclosure.referral_id, func.min(Disclosure.erase_by))
        .where(
            Disclosure.referral_id.in_(referral_ids),
            Disclosure.recipient_organization_id == organization_id,
            waiting(),
        )
        .group_by(Disclosure.referral_id)
    )
    return {referral_id: erase_by for referral_id, erase_by in rows if referral_id is not None}


@dataclass
class DataLifeReport:
    """The referrals each step acted on."""

    reminded: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)


def _by_referral(rows: list[Disclosure]) -> dict[str, list[Disclosure]]:
    grouped: dict[str, list[Disclosure]] = defaultdict(list)
    for row in rows:
        if row.referral_id is not None:
            grouped[row.referral_id].append(row)
    return dict(sorted(grouped.items()))


def _step(
    db: Session,
    rows: list[Disclosure],
    *,
    marker: str,
    topic: str,
    action: str,
    step: str,
    audiences: tuple[Audience, ...],
    now: datetime,
) -> list[str]:
    acted = []
    for referral_id, found in _by_referral(rows).items():
        referral = db.get(Referral, referral_id)
        if referral is None:
            continue
        for row in found:
            setattr(row, marker, now)
        erase_by = min(row.erase_by for row in found if row.erase_by is not None)
        payload = {"referral_id": referral_id, "erase_by": erase_by.isoformat()}
        enqueue(db=db, topic=topic, payload=payload)
        tell_people(db, referral, audiences=audiences, step=step, stage=STAGE)
        record(
            db,
            actor=reasons.SYSTEM_ACTOR,
            action=action,
            object_type="referral",
            object_id=referral_id,
            details={
                "organization_id": referral.to_organization_id,
                "disclosure_ids": [row.id for row in found],
                "erase_by": erase_by.isoformat(),
            },
        )
        acted.append(referral_id)
    return acted


def run(runtime: Services, *, now: datetime | None = None) -> DataLifeReport:
    """One pass: flag what is past its date (the sender told), then remind what is near."""
    now = now or utcnow()
    rules = runtime.policy.data_life
    report = DataLifeReport()
    base = select(Disclosure).where(waiting(), Disclosure.referral_id.is_not(None))
    with transaction(runtime.sessions) as db:
        late = list(
            db.scalars(
                base.where(Disclosure.erase_overdue_since.is_(None), Disclosure.erase_by <= now)
                .order_by(Disclosure.erase_by, Disclosure.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        report.overdue = _step(
            db,
            late,
            marker="erase_overdue_since",
            topic=OVERDUE_TOPIC,
            action="referral.erase_overdue",
            step="overdue",
            audiences=rules.notify.overdue,
            now=now,
        )
    with transaction(runtime.sessions) as db:
        near = list(
            db.scalars(
                base.where(
                    Disclosure.erase_reminded_at.is_(None),
                    Disclosure.erase_overdue_since.is_(None),
                    Disclosure.erase_by > now,
                    Disclosure.erase_by <= now + rules.remind_before,
                )
                .order_by(Disclosure.erase_by, Disclosure.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        report.reminded = _step(
            db,
            near,
            marker="erase_reminded_at",
            topic=REMINDER_TOPIC,
            action="referral.erase_reminded",
            step="reminder",
            audiences=rules.notify.reminder,
            now=now,
        )
    return report


def notice_pushed(db: Session, *, topic: str, referral_id: str, erase_by: str) -> None:
    """The audit entry of a data-life notice, once its push (if any) has gone out."""
    action, told = NOTICE_ACTIONS[topic]
    referral = db.get_one(Referral, referral_id)
    organization_id = (
        referral.from_organization_id if told is Party.sender else referral.to_organization_id
    )
    record(
        db,
        actor=reasons.SYSTEM_ACTOR,
        action=action,
        object_type="referral",
        object_id=referral.id,
        details={"organization_id": organization_id, "erase_by": erase_by},
    )
