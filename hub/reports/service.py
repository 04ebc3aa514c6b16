"""The referral report: counts by dimension, times to each move, reasons and reviews.

Computed from the non-personal columns of the referral, event, review and organisation
tables (codes, times, the subject's sex and age band stored when the referral was made):
nothing is decrypted. An organisation's report covers the referrals it or the offices below
it sent, or received once sent (the tenant condition in every query); the operator's command
(`hub report`) covers the whole hub. Small cells are hidden (`hub.reports.suppression`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from hub.api.problems import Unprocessable
from hub.organizations.models import Organization
from hub.organizations.service import below
from hub.policy.loader import Policy
from hub.referrals.lifecycle import (
    ACCEPTED,
    ACKNOWLEDGED,
    CANCELLED,
    COMPLETED,
    DECLINED,
    DENIED,
    FAILED,
)
from hub.referrals.models import MILESTONES, Referral
from hub.reports import suppression
from hub.reports.schemas import (
    CountRow,
    Dimension,
    ReasonRow,
    ReferralReport,
    ReviewFigures,
    Times,
)
from hub.reviews.models import Review
from hub.service_directory.models import ServiceArea

MAX_DIMENSIONS = 4
MAX_DAYS = 366 * 3
UNKNOWN = "unknown"
# the moves timed from sending, by the name the report gives them
TIMED = {"acknowledge": ACKNOWLEDGED, "accept": ACCEPTED, "complete": COMPLETED}
# the statuses whose reasons are counted (how referrals ended, or ended without a service)
CLOSING = (DECLINED, CANCELLED, DENIED, FAILED, COMPLETED)
REVIEW_STATUSES = ("approved", "denied", "returned", "pending", "withdrawn")
# PostgreSQL's memory for the sorts of the times' percentiles (`_times_in_database`)
SORT_MEMORY = "64MB"


def parse_group_by(text: str | None) -> list[Dimension]:
    """`month,service_type` -> the dimensions; 422 `unknown_value` for any other name."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    allowed = [d.value for d in Dimension]
    if any(n not in allowed for n in names) or len(set(names)) != len(names):
        raise Unprocessable(
            "unknown_value",
            "Unknown report dimension",
            f"group_by lists distinct names among {', '.join(allowed)}",
            field="group_by",
            allowed=allowed,
        )
    if len(names) > MAX_DIMENSIONS:
        raise Unprocessable(
            "too_many_dimensions",
            "Too many report dimensions",
            f"group_by lists at most {MAX_DIMENSIONS} dimensions",
            field="group_by",
        )
    return [Dimension(n) for n in names]


def month_range(month: str) -> tuple[date, date]:
    """`2026-11` -> its first and last day."""
    first = date.fromisoformat(f"{month}-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def in_scope(organization_id: str | None) -> ColumnElement[bool]:
    """The referrals a report of the organisation counts: sent by it or an office below it,
    or sent to one of them once sent. None: every referral (the hub's operator)."""
    if organization_id is None:
        return literal(True)
    offices = union_all(select(literal(organization_id)), below(organization_id))
    return or_(
        Referral.from_organization_id.in_(offices),
        and_(Referral.to_organization_id.in_(offices), Referral.sent_at.is_not(None)),
    )


def _month(db: Session) -> ColumnElement[str]:
    if db.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Referral.created_at), "YYYY-MM")
    return func.substr(Referral.created_at, 1, 7)


def _column(db: Session, dimension: Dimension, recipient: Any) -> ColumnElement[Any]:
    return {
        Dimension.month: lambda: _month(db),
        Dimension.service_type: lambda: Referral.service_type,
        Dimension.partner: lambda: Referral.to_organization_id,
        Dimension.sender: lambda: Referral.from_organization_id,
        Dimension.status: lambda: Referral.status,
        Dimension.urgency: lambda: Referral.urgency,
        Dimension.sex: lambda: Referral.subject_sex,
        Dimension.age_band: lambda: Referral.subject_age_band,
        Dimension.area: lambda: recipient.country,
    }[dimension]()


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start or (end - start).days > MAX_DAYS:
        raise Unprocessable(
            "invalid_period",
            "Invalid report period",
            f"`to` is on or after `from`, at most {MAX_DAYS} days later",
            field="to",
        )
    return (
        datetime.combine(start, time(), tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC),
    )


def _where(query: Select[Any], organization_id: str | None, lo: datetime, hi: datetime) -> Any:
    return query.where(
        in_scope(organization_id), Referral.created_at >= lo, Referral.created_at < hi
    )


def _times(values: Sequence[float], threshold: int) -> Times:
    n = len(values)
    if n < threshold:
        return Times(n=suppression.total(n, threshold), median_hours=None, p90_hours=None)
    ordered = sorted(values)
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[8]
    return Times(n=n, median_hours=round(statistics.median(ordered), 2), p90_hours=round(p90, 2))


def _hours(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600


def area_at(path: str, level: int) -> str:
    """The code at `level` (1: the top) of an area's code path (`NE/NE-AG/NE-AG-ARL/`); a path
    that stops above that level gives its deepest code."""
    codes = [code for code in path.split("/") if code]
    return codes[min(level, len(codes)) - 1]


def service_areas(db: Session, service_ids: set[str], level: int) -> dict[str, str]:
    """Each service's area for reports: the code at `level` of its areas, the first in code
    order when it is offered in several (a service with no area has none)."""
    found: dict[str, str] = {}
    ids = sorted(service_ids)
    for start in range(0, len(ids), 500):
        query = select(ServiceArea.service_id, ServiceArea.path).where(
            ServiceArea.service_id.in_(ids[start : start + 500])
        )
        for service_id, path in db.execute(query):
            code = area_at(path, level)
            if service_id not in found or code < found[service_id]:
                found[service_id] = code
    return found


def counts(
    db: Session,
    dims: list[Dimension],
    organization_id: str | None,
    lo: datetime,
    hi: datetime,
    *,
    area_level: int = 1,
) -> dict[tuple[str, ...], int]:
    """Referrals counted by `dims`. The area is the one of the service the referral is for (the
    code at the policy's `reporting.area_level` of its area paths), else the recipient's
    country: the query groups by both, and the service's area is looked up afterwards."""
    recipient = Organization.__table__.alias("recipient")
    columns = []
    for d in dims:
        if d is Dimension.area:
            columns += [Referral.service_id.label("service_id"), recipient.c.country.label("area")]
        else:
            columns.append(_column(db, d, recipient.c).label(d.value))
    query = select(*columns, func.count().label("n")).select_from(Referral)
    if Dimension.area in dims:
        query = query.join(recipient, recipient.c.id == Referral.to_organization_id)
    query = _where(query, organization_id, lo, hi)
    if columns:
        query = query.group_by(*columns)
    rows = db.execute(query).all()
    areas: dict[str, str] = {}
    where = dims.index(Dimension.area) if Dimension.area in dims else None
    if where is not None:
        named = {row[where] for row in rows if row[where] is not None}
        areas = service_areas(db, named, area_level)
    found: dict[tuple[str, ...], int] = {}
    for row in rows:
        values = list(row[:-1])
        if where is not None:
            service_id, country = values[where], values[where + 1]
            values[where : where + 2] = [areas.get(service_id, country) if service_id else country]
        key = tuple(str(v) if v is not None else UNKNOWN for v in values)
        found[key] = found.get(key, 0) + int(row[-1])
    return found


def times(
    db: Session, organization_id: str | None, lo: datetime, hi: datetime, threshold: int
) -> dict[str, Times]:
    """Hours from sending to each timed move, from the times the referral's row keeps of its
    first such move (`Referral.reached`: the time of the move's first event). On PostgreSQL
    the median and the 90th percentile are computed by the database, `percentile_cont`
    (which skips the referrals that have not made the move): the same linear interpolation as
    `statistics.quantiles(..., method="inclusive")` here."""
    moved = [getattr(Referral, column) for column in MILESTONES.values()]
    if db.get_bind().dialect.name == "postgresql":
        return _times_in_database(db, organization_id, lo, hi, threshold, moved)
    query = _where(
        select(Referral.sent_at, *moved).where(Referral.sent_at.is_not(None)),
        organization_id,
        lo,
        hi,
    )
    durations: dict[str, list[float]] = {status: [] for status in TIMED.values()}
    for sent_at, *ats in db.execute(query):
        for status, at in zip(MILESTONES, ats, strict=True):
            if at is not None:
                durations[status].append(_hours(at, sent_at))
    return {name: _times(durations[status], threshold) for name, status in TIMED.items()}


def _times_in_database(
    db: Session,
    organization_id: str | None,
    lo: datetime,
    hi: datetime,
    threshold: int,
    moved: list[Any],
) -> dict[str, Times]:
    figures = []
    for at in moved:
        hours = func.extract("epoch", at - Referral.sent_at) / 3600
        figures += [
            func.count(at),
            func.percentile_cont(0.5).within_group(hours),
            func.percentile_cont(0.9).within_group(hours),
        ]
    query = _where(select(*figures).where(Referral.sent_at.is_not(None)), organization_id, lo, hi)
    # a year of a large hub sorts a million durations per move: in memory, not on disk (for
    # this query only, the setting put back after it)
    before = db.scalar(select(func.current_setting("work_mem")))
    db.execute(select(func.set_config("work_mem", SORT_MEMORY, True)))
    row = db.execute(query).one()
    db.execute(select(func.set_config("work_mem", before, True)))
    found = {
        status: (int(row[3 * i]), row[3 * i + 1], row[3 * i + 2])
        for i, status in enumerate(MILESTONES)
    }
    answer = {}
    for name, status in TIMED.items():
        n, median, p90 = found[status]
        if n < threshold:
            answer[name] = Times(
                n=suppression.total(n, threshold), median_hours=None, p90_hours=None
            )
        else:
            answer[name] = Times(
                n=n, median_hours=round(float(median), 2), p90_hours=round(float(p90), 2)
            )
    return answer


def reasons(
    db: Session, organization_id: str | None, lo: datetime, hi: datetime, threshold: int
) -> list[ReasonRow]:
    # the recipient's coded answer where it gave one (a decline reason, an outcome), else the
    # status's own reason; the words beside a code are never read
    reason = func.coalesce(
        Referral.decline_reason_code, Referral.outcome_code, Referral.status_reason
    )
    query = _where(
        select(Referral.status, reason, func.count())
        .where(Referral.status.in_(CLOSING))
        .group_by(Referral.status, reason),
        organization_id,
        lo,
        hi,
    )
    # one line (the reasons of the period, whose total the statuses give): keyed as one value
    found = {(f"{status}/{reason}",): int(n) for status, reason, n in db.execute(query)}
    cells = suppression.shown(found, threshold)
    return [
        ReasonRow(
            status=key[0].split("/", 1)[0],
            reason=None if key[0].endswith("/None") else key[0].split("/", 1)[1],
            count=cells[key],
        )
        for key in sorted(found)
    ]


def reviews(
    db: Session, organization_id: str | None, lo: datetime, hi: datetime, threshold: int
) -> ReviewFigures:
    """The referrals' reviews opened in the period (a resubmitted referral may have two)."""
    query = (
        select(Review.status, Review.created_at, Review.decided_at)
        .join(Referral, Referral.id == Review.object_id)
        .where(
            Review.kind == "referral",
            Review.created_at >= lo,
            Review.created_at < hi,
            in_scope(organization_id),
        )
    )
    by_status = dict.fromkeys(REVIEW_STATUSES, 0)
    decided: list[float] = []
    for status, created, decided_at in db.execute(query):
        by_status[status] = by_status.get(status, 0) + 1
        if decided_at is not None and status in ("approved", "denied", "returned"):
            decided.append(_hours(decided_at, created))
    held = sum(by_status.values())
    cells = suppression.shown({(s,): n for s, n in by_status.items()}, threshold)
    return ReviewFigures(
        held=suppression.total(held, threshold),
        decision=_times(decided, threshold),
        **{s: cells[(s,)] for s in REVIEW_STATUSES},
    )


def report(
    *,
    db: Session,
    policy: Policy,
    organization_id: str | None,
    start: date,
    end: date,
    group_by: list[Dimension],
) -> ReferralReport:
    """The report of the referrals made from `start` to `end` (both included)."""
    lo, hi = _bounds(start, end)
    threshold = policy.reporting.small_cell_threshold
    level = policy.reporting.area_level
    cells = counts(db, group_by, organization_id, lo, hi, area_level=level)
    published = suppression.shown(cells, threshold) if group_by else {}
    rows = [
        CountRow(values={d.value: v for d, v in zip(group_by, key, strict=True)}, count=n)
        for key, n in sorted(published.items())
    ]
    return ReferralReport(
        from_date=start,
        to_date=end,
        group_by=group_by,
        small_cell_threshold=threshold,
        total=suppression.total(sum(cells.values()), threshold),
        rows=rows,
        times=times(db, organization_id, lo, hi, threshold),
        reasons=reasons(db, organization_id, lo, hi, threshold),
        reviews=reviews(db, organization_id, lo, hi, threshold),
    )
