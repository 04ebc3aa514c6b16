"""The report read from the referral's row and its index (the times of the first
acknowledgement, acceptance and completion kept on the row) against the direct computation
from the referrals and their lifecycle events, on a few hundred referrals spread over three
months, both directions between two organisations, every status a recipient's or a sender's
move leads to, coded reasons, and times from minutes to weeks. The moves are made by the
hub's own lifecycle function, on a moved clock."""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from hub.clock import clock, utcnow
from hub.lifecycle import history
from hub.lifecycle.models import LifecycleEvent
from hub.lifecycle.tables import Party
from hub.organizations.models import Organization
from hub.referrals import service as referrals
from hub.referrals.models import MILESTONES, Referral
from hub.reports import service as reports
from hub.reports import suppression
from hub.reports.schemas import Dimension, ReasonRow, Times
from tests.support.referral_world import World

N = 300
THRESHOLD = 5
# each referral's fate: the moves made, in order, by whom, with which code
FATES: list[list[tuple[str, Party, str | None]]] = [
    [],
    [("acknowledge", Party.recipient, None)],
    [("acknowledge", Party.recipient, None), ("accept", Party.recipient, None)],
    [
        ("acknowledge", Party.recipient, None),
        ("accept", Party.recipient, None),
        ("start", Party.recipient, None),
    ],
    [
        ("acknowledge", Party.recipient, None),
        ("accept", Party.recipient, None),
        ("start", Party.recipient, None),
        ("complete", Party.recipient, "service_provided"),
    ],
    [
        ("acknowledge", Party.recipient, None),
        ("accept", Party.recipient, None),
        ("start", Party.recipient, None),
        ("complete", Party.recipient, "referred_on"),
    ],
    [("decline", Party.recipient, "no_capacity")],
    [("acknowledge", Party.recipient, None), ("decline", Party.recipient, "not_eligible")],
    [("acknowledge", Party.recipient, None), ("cancel", Party.sender, "moved")],
]
GROUPINGS = [
    [],
    [Dimension.month],
    [Dimension.status],
    [Dimension.month, Dimension.sex, Dimension.age_band],
    [Dimension.service_type, Dimension.partner, Dimension.status, Dimension.urgency],
    [Dimension.sender, Dimension.area],
]


@pytest.fixture
def generated(world: World) -> list[str]:
    """`N` referrals made from two real ones (rows copied with other attributes and times),
    then moved by `hub.referrals.service.move` at known times."""
    rng = random.Random(15)
    templates = [world.sent(), world.sent()]
    sender, recipient = world.sender.organization_id, world.recipient.organization_id
    start = utcnow().replace(microsecond=0) - timedelta(days=100)
    ids: list[str] = []
    plans: list[tuple[str, str, list[tuple[str, Party, str | None]], datetime]] = []
    with world.runtime.sessions.begin() as db:
        db.execute(
            Organization.__table__.update().where(Organization.id == recipient).values(country="NE")
        )
        rows = [
            {c.key: getattr(db.get_one(Referral, t), c.key) for c in Referral.__table__.columns}
            for t in templates
        ]
        for i in range(N):
            row = dict(rows[i % 2])
            referral_id = f"gen{i:029d}"
            made = start + timedelta(minutes=rng.randrange(90 * 24 * 60))
            backwards = rng.random() < 0.25  # the recipient refers back to the sender
            never_sent = rng.random() < 0.05
            row.update(
                id=referral_id,
                from_organization_id=recipient if backwards else sender,
                to_organization_id=sender if backwards else recipient,
                service_type=rng.choice(["psychosocial_support", "shelter", "medical_care"]),
                urgency=rng.choice(["normal", "normal", "high", "emergency"]),
                subject_sex=rng.choice(["female", "male", None]),
                subject_age_band=rng.choice(["0-4", "12-17", "18-59", "60+", None]),
                status="pending_review" if never_sent else "sent",
                status_reason=None,
                sent_at=None if never_sent else made + timedelta(minutes=rng.randrange(90)),
                created_at=made,
                updated_at=made,
                review_id=None,
                **dict.fromkeys(MILESTONES.values()),
            )
            db.execute(insert(Referral).values(**row))
            ids.append(referral_id)
            fate = [] if never_sent else rng.choice(FATES)
            plans.append((referral_id, "backwards" if backwards else "forwards", fate, made))
    # the moves, in time order over the whole set, each at its own moved time
    moves: list[tuple[datetime, str, str, tuple[str, Party, str | None], int]] = []
    for referral_id, direction, fate, made in plans:
        at = made + timedelta(hours=2)
        for step, move in enumerate(fate):
            at += timedelta(minutes=rng.randrange(1, 60 * 24 * rng.choice([1, 3, 20])))
            moves.append((at, referral_id, direction, move, step))
    moves.sort()
    base = utcnow()
    try:
        for at, referral_id, direction, (action, party, code), _ in moves:
            clock.reset()
            clock.advance(at - base)
            forwards = direction == "forwards"
            org = {
                Party.recipient: recipient if forwards else sender,
                Party.sender: sender if forwards else recipient,
            }[party]
            with world.runtime.sessions.begin() as db:
                referral = db.get_one(Referral, referral_id)
                referrals.move(
                    db=db,
                    keyring=world.runtime.keyring,
                    referral=referral,
                    action=action,
                    party=party,
                    actor="test",
                    organization_id=org,
                    coded=code,
                )
                if action == "decline":
                    referral.decline_reason_code = code
                elif action == "complete":
                    referral.outcome_code = code
                # now and then the hub writes another line in the status it is in (a consent
                # withdrawal told to the recipient): the first such event is the move's time
                if rng.random() < 0.1:
                    history.record_event(
                        db=db,
                        key=None,
                        object_type="referral",
                        object_id=referral_id,
                        actor="hub",
                        organization_id=None,
                        from_status=referral.status,
                        to_status=referral.status,
                        reason_code="consent_withdrawal_notified",
                    )
    finally:
        clock.reset()
    return ids


def _direct(
    world: World, organization_id: str | None, lo: datetime, hi: datetime
) -> tuple[list[Any], dict[str, dict[str, datetime]]]:
    """The referrals of the report and the first event of each timed status of each."""
    with world.runtime.sessions() as db:
        rows = [
            r
            for r in db.execute(select(Referral)).scalars()
            if lo <= r.created_at < hi
            and (
                organization_id is None
                or r.from_organization_id == organization_id
                or (r.to_organization_id == organization_id and r.sent_at is not None)
            )
        ]
        countries = dict(db.execute(select(Organization.id, Organization.country)).all())
        firsts: dict[str, dict[str, datetime]] = defaultdict(dict)
        for event in db.execute(
            select(LifecycleEvent).where(LifecycleEvent.object_type == "referral")
        ).scalars():
            if event.to_status in MILESTONES:
                seen = firsts[event.object_id].get(event.to_status)
                if seen is None or event.at < seen:
                    firsts[event.object_id][event.to_status] = event.at
        db.expunge_all()
    for r in rows:
        r.country = countries[r.to_organization_id]
    return rows, firsts


def _value(r: Any, dim: Dimension) -> str:
    value = {
        Dimension.month: r.created_at.astimezone(UTC).strftime("%Y-%m"),
        Dimension.service_type: r.service_type,
        Dimension.partner: r.to_organization_id,
        Dimension.sender: r.from_organization_id,
        Dimension.status: r.status,
        Dimension.urgency: r.urgency,
        Dimension.sex: r.subject_sex,
        Dimension.age_band: r.subject_age_band,
        Dimension.area: r.country,
    }[dim]
    return reports.UNKNOWN if value is None else str(value)


def _times(rows: list[Any], firsts: dict[str, dict[str, datetime]]) -> dict[str, Times]:
    answer = {}
    for name, status in reports.TIMED.items():
        hours = [
            (firsts[r.id][status] - r.sent_at).total_seconds() / 3600
            for r in rows
            if r.sent_at is not None and status in firsts.get(r.id, {})
        ]
        if len(hours) < THRESHOLD:
            answer[name] = Times(
                n=suppression.total(len(hours), THRESHOLD), median_hours=None, p90_hours=None
            )
        else:
            p90 = statistics.quantiles(sorted(hours), n=10, method="inclusive")[8]
            answer[name] = Times(
                n=len(hours),
                median_hours=round(statistics.median(hours), 2),
                p90_hours=round(p90, 2),
            )
    return answer


def _reasons(rows: list[Any]) -> list[ReasonRow]:
    found: dict[tuple[str], int] = defaultdict(int)
    for r in rows:
        if r.status in reports.CLOSING:
            reason = r.decline_reason_code or r.outcome_code or r.status_reason
            found[(f"{r.status}/{reason}",)] += 1
    cells = suppression.shown(found, THRESHOLD)
    return [
        ReasonRow(
            status=key[0].split("/", 1)[0],
            reason=None if key[0].endswith("/None") else key[0].split("/", 1)[1],
            count=cells[key],
        )
        for key in sorted(found)
    ]


def test_the_report_is_the_direct_computation(world: World, generated: list[str]) -> None:
    today = utcnow().date()
    first = today - timedelta(days=100)
    periods = [(first, today), (first + timedelta(days=30), first + timedelta(days=59))]
    periods.append((date(today.year, today.month, 1) - timedelta(days=31), today))
    whose = [None, world.sender.organization_id, world.recipient.organization_id]
    seen_times = 0
    for start, end in periods:
        lo, hi = reports._bounds(start, end)
        for organization_id in whose:
            rows, firsts = _direct(world, organization_id, lo, hi)
            with world.runtime.sessions() as db:
                for dims in GROUPINGS:
                    expected: dict[tuple[str, ...], int] = defaultdict(int)
                    for r in rows:
                        expected[tuple(_value(r, d) for d in dims)] += 1
                    assert reports.counts(db, dims, organization_id, lo, hi) == expected
                times = reports.times(db, organization_id, lo, hi, THRESHOLD)
                assert times == _times(rows, firsts)
                seen_times += sum(t.median_hours is not None for t in times.values())
                assert reports.reasons(db, organization_id, lo, hi, THRESHOLD) == _reasons(rows)
    # the comparison compared figures, not only hidden ones
    assert seen_times >= 12


def test_the_row_keeps_the_first_time_of_each_move(world: World, generated: list[str]) -> None:
    rows, firsts = _direct(
        world, None, datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    )
    assert len(rows) == N + 2
    timed = 0
    for r in rows:
        for status, column in MILESTONES.items():
            assert getattr(r, column) == firsts.get(r.id, {}).get(status)
            timed += getattr(r, column) is not None
    assert timed > N
