"""The sending office's view of its referrals: the tracking list and its figures.

Both are the sender's (`Referral.from_organization_id`, the tenant condition in each query) and
hold no personal data: statuses, urgencies, counts, durations and the recipients' names. The
console's tracking board (`hub.console.board`) and `GET /v1/referrals/figures` call these same
functions, so a chart and the API never count differently.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Subquery, case, func, select
from sqlalchemy.orm import Session

from hub.clock import utcnow
from hub.lifecycle import Party
from hub.lifecycle.models import LifecycleEvent
from hub.organizations.models import Organization
from hub.referrals import service
from hub.referrals.lifecycle import ACKNOWLEDGED, FHIR_TASK_STATUS, FINAL
from hub.referrals.models import Referral
from hub.referrals.schemas import ReferralSummary
from hub.reviews.service import URGENCY_RANK

# the median time to acknowledge is over the referrals sent in the last WEEKS weeks
WEEKS = 8
TRACKING_LIMIT = 200
CLOSED_LIMIT = 50
# the statuses in the order a referral goes through them (the charts' and tables' order)
STATUS_ORDER = tuple(FHIR_TASK_STATUS)


class StatusCount(BaseModel):
    status: str
    count: int


class PartnerCount(BaseModel):
    organization_id: str
    name: str
    count: int


class PartnerAcknowledgement(BaseModel):
    """One recipient's acknowledgements of the referrals sent to it in the window."""

    organization_id: str
    name: str
    sent: int
    acknowledged: int
    # the median time from sending to the first acknowledgement, in hours; None when none was
    median_hours: float | None


class ReferralFigures(BaseModel):
    """The sending organisation's referrals, counted (no personal data)."""

    at: datetime
    total: int
    by_status: list[StatusCount]
    by_partner: list[PartnerCount]
    # the window of `acknowledgement`: referrals sent from `since` to `at`
    weeks: int
    since: datetime
    acknowledgement: list[PartnerAcknowledgement]


class TrackedReferral(ReferralSummary):
    """A row of the tracking board: the referral as its sender sees it, and its last move."""

    last_moved_at: datetime


def _last_moves() -> Subquery:
    """Each referral's latest event (when it last changed status): not `updated_at`, which the
    deadline job's reminder and overdue markers also touch."""
    return (
        select(LifecycleEvent.object_id, func.max(LifecycleEvent.at).label("at"))
        .where(LifecycleEvent.object_type == service.OBJECT_TYPE)
        .group_by(LifecycleEvent.object_id)
        .subquery()
    )


def tracking(*, db: Session, organization_id: str, closed: bool = False) -> list[TrackedReferral]:
    """The referrals the organisation sent. Open ones: what needs chasing first, the overdue,
    then by urgency (emergency, high, normal), then the oldest; closed ones (`closed`): the
    most recent first."""
    now = utcnow()
    last = _last_moves()
    moved = func.coalesce(last.c.at, Referral.created_at)
    query = (
        select(Referral, moved)
        .outerjoin(last, last.c.object_id == Referral.id)
        .where(Referral.from_organization_id == organization_id)
    )
    if closed:
        query = query.where(Referral.status.in_(sorted(FINAL)))
        query = query.order_by(moved.desc(), Referral.id).limit(CLOSED_LIMIT)
    else:
        query = query.where(Referral.status.not_in(sorted(FINAL)))
        query = query.order_by(
            # the same overdue condition as the recipient's inbox (`service.inbox`)
            case((service.overdue_condition(now), 0), else_=1),
            case(URGENCY_RANK, value=Referral.urgency, else_=len(URGENCY_RANK)),
            func.coalesce(Referral.sent_at, Referral.created_at),
            Referral.id,
        ).limit(TRACKING_LIMIT)
    rows = db.execute(query).all()
    return [
        TrackedReferral(
            **service.summary_fields(referral, Party.sender, now),
            # a referral written in this transaction has no event read back yet
            last_moved_at=at or referral.created_at,
        )
        for referral, at in rows
    ]


def figures(*, db: Session, organization_id: str, weeks: int = WEEKS) -> ReferralFigures:
    """The organisation's sent referrals by status and by recipient, and each recipient's
    median time to acknowledge those sent in the last `weeks` weeks."""
    now = utcnow()
    since = now - timedelta(weeks=weeks)
    sent_by = Referral.from_organization_id == organization_id
    counted = dict(
        db.execute(
            select(Referral.status, func.count()).where(sent_by).group_by(Referral.status)
        ).all()
    )
    by_status = [StatusCount(status=s, count=counted[s]) for s in STATUS_ORDER if counted.get(s)]
    partners = db.execute(
        select(Organization.id, Organization.name, func.count())
        .join(Referral, Referral.to_organization_id == Organization.id)
        .where(sent_by)
        .group_by(Organization.id, Organization.name)
        .order_by(func.count().desc(), Organization.name)
    ).all()
    by_partner = [PartnerCount(organization_id=i, name=n, count=c) for i, n, c in partners]
    return ReferralFigures(
        at=now,
        total=sum(counted.values()),
        by_status=by_status,
        by_partner=by_partner,
        weeks=weeks,
        since=since,
        acknowledgement=_acknowledgement(db, organization_id, since),
    )


def _acknowledgement(
    db: Session, organization_id: str, since: datetime
) -> list[PartnerAcknowledgement]:
    # the first acknowledgement of each referral (a referral is acknowledged once, but a
    # redelivered one could in principle be again: the first is the answer to the sending)
    first = (
        select(LifecycleEvent.object_id, func.min(LifecycleEvent.at).label("at"))
        .where(
            LifecycleEvent.object_type == service.OBJECT_TYPE,
            LifecycleEvent.to_status == ACKNOWLEDGED,
        )
        .group_by(LifecycleEvent.object_id)
        .subquery()
    )
    rows = db.execute(
        select(Organization.id, Organization.name, Referral.sent_at, first.c.at)
        .join(Organization, Organization.id == Referral.to_organization_id)
        .outerjoin(first, first.c.object_id == Referral.id)
        .where(
            Referral.from_organization_id == organization_id,
            Referral.sent_at.is_not(None),
            Referral.sent_at >= since,
        )
    ).all()
    sent: dict[str, int] = {}
    names: dict[str, str] = {}
    waits: dict[str, list[float]] = {}
    for partner_id, name, sent_at, acknowledged_at in rows:
        names[partner_id] = name
        sent[partner_id] = sent.get(partner_id, 0) + 1
        waits.setdefault(partner_id, [])
        if acknowledged_at is not None and sent_at is not None:
            waits[partner_id].append((acknowledged_at - sent_at).total_seconds() / 3600)
    out = [
        PartnerAcknowledgement(
            organization_id=partner_id,
            name=names[partner_id],
            sent=sent[partner_id],
            acknowledged=len(waits[partner_id]),
            median_hours=round(statistics.median(waits[partner_id]), 1)
            if waits[partner_id]
            else None,
        )
        for partner_id in sent
    ]
    # the slowest first: who needs a call; those with no acknowledgement at all lead
    return sorted(
        out,
        key=lambda p: (p.median_hours is not None, -(p.median_hours or 0), p.name),
    )
