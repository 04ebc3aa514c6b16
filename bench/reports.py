"""Benchmark of the referral report and the supervision list on PostgreSQL (not a test).

    .venv/bin/python bench/reports.py [--referrals 100000] [--repeat 3] [--keep] [--reuse]

`--referrals 1000000` for the issue's figure. Creates (drops first) the database at
HUB_BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_reports),
migrates it, and inserts in bulk with SQLAlchemy Core (no API, no encryption: the report reads
no personal data, so the cases' sealed columns hold placeholder bytes): an IOM country office
with 10 sub-offices, each with one office below it, 40 partner NGOs, one case per 10 referrals,
the referrals spread over the 12 months of 2026 with their lifecycle events (acknowledged,
accepted, completed or declined, hours after sending).

Then it times, each `--repeat` times (the best and the worst printed): the hub's monthly report
(`hub report --month 2026-11`: the whole hub, four dimensions), the country office's report of
the year by month, sex and age band (its tree of offices), and the country office's first page
of `GET /v1/referrals?scope=tree` (the service function the route calls).

The database is dropped at the end unless `--keep`; `--reuse` times a database kept by an
earlier `--keep` run (migrated to the head first, so a migration's backfill runs on it) instead
of seeding one again.
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from hub.cases.models import Case
from hub.consent.models import GateDecision
from hub.db import migrate
from hub.lifecycle.models import LifecycleEvent
from hub.organizations.models import Organization
from hub.policy.loader import load_policy
from hub.referrals import service as referrals
from hub.referrals.models import MILESTONES, Referral
from hub.referrals.schemas import ListScope
from hub.reports import service as reports
from hub.reports.schemas import Dimension

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_reports"
POLICY = Path(__file__).resolve().parent.parent / "specs" / "policy.yaml"
BATCH = 10_000
SERVICES = ("psychosocial_support", "medical_care", "shelter", "gbv_response", "child_protection")
URGENCIES = ("normal", "normal", "normal", "high", "emergency")
SEXES = ("female", "female", "male", "other", "unknown")
BANDS = ("0-4", "5-11", "12-17", "18-59", "18-59", "60+")


def new_id() -> str:
    return uuid.uuid4().hex


def fresh_database(url: str) -> Engine:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(url)
    migrate.upgrade(engine)
    return engine


def drop(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def seed(engine: Engine, n: int, rng: random.Random) -> str:
    """The offices, cases and `n` referrals with their events; returns the country office."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    country = new_id()
    subs = [new_id() for _ in range(10)]
    below = [new_id() for _ in range(10)]
    ngos = [new_id() for _ in range(40)]
    orgs = [{"id": country, "name": "IOM Niger", "kind": "iom_office", "parent_id": None}]
    orgs += [
        {"id": s, "name": f"IOM sub-office {i}", "kind": "iom_office", "parent_id": country}
        for i, s in enumerate(subs)
    ]
    orgs += [
        {"id": b, "name": f"IOM antenna {i}", "kind": "iom_office", "parent_id": subs[i]}
        for i, b in enumerate(below)
    ]
    orgs += [
        {"id": g, "name": f"NGO {i}", "kind": "ngo", "parent_id": None, "country": "NE"}
        for i, g in enumerate(ngos)
    ]
    senders = [country, *subs, *below]
    with engine.begin() as conn:
        for org in orgs:
            conn.execute(
                insert(Organization).values(services=[], created_at=now, **{"country": None, **org})
            )
        cases = [new_id() for _ in range(max(1, n // 10))]
        for chunk in batches(
            {
                "id": c,
                "owner_organization_id": rng.choice(senders),
                "external_ref": c,
                "subject_ciphertext": b"placeholder",
                "created_at": now,
                "updated_at": now,
            }
            for c in cases
        ):
            conn.execute(insert(Case), chunk)
        decision = new_id()
        conn.execute(
            insert(GateDecision).values(
                id=decision,
                case_id=cases[0],
                from_organization_id=country,
                recipient_organization_id=ngos[0],
                purpose="psychosocial_support",
                requested_categories=["identity"],
                outcome="permit",
                permitted_categories=["identity"],
                consent_ids=[],
                reasons=[],
                policy_version=4,
                context="referral",
                actor="bench",
                decided_at=now,
            )
        )

    events: list[dict[str, Any]] = []

    def referral_rows() -> Iterator[dict[str, Any]]:
        for _ in range(n):
            rid = new_id()
            made = now + timedelta(minutes=rng.randrange(365 * 24 * 60))
            fate = rng.random()
            moves: list[tuple[str, float]] = []
            status = "sent"
            if fate < 0.8:
                moves.append(("acknowledged", rng.expovariate(1 / 20)))
                status = "acknowledged"
            if fate < 0.6:
                moves.append(("accepted", moves[-1][1] + rng.expovariate(1 / 30)))
                status = "accepted"
            elif fate < 0.7:
                moves.append(("declined", moves[-1][1] + rng.expovariate(1 / 30)))
                status = "declined"
            if fate < 0.4:
                moves.append(("completed", moves[-1][1] + rng.expovariate(1 / 300)))
                status = "completed"
            # the row keeps the time of its first acknowledgement, acceptance and completion, as
            # the hub's moves do (`Referral.reached`)
            reached: dict[str, datetime] = {}
            for to_status, hours in moves:
                column = MILESTONES.get(to_status)
                if column is not None:
                    reached[column] = made + timedelta(hours=hours)
                events.append(
                    {
                        "id": new_id(),
                        "object_type": "referral",
                        "object_id": rid,
                        "at": made + timedelta(hours=hours),
                        "actor": "bench",
                        "to_status": to_status,
                    }
                )
            yield {
                "id": rid,
                "case_id": rng.choice(cases),
                "from_organization_id": rng.choice(senders),
                "to_organization_id": rng.choice(ngos),
                "service_type": rng.choice(SERVICES),
                "purpose": "psychosocial_support",
                "urgency": rng.choice(URGENCIES),
                "requested_categories": ["identity"],
                "categories": ["identity"],
                "withheld_categories": [],
                "consent_ids": [],
                "decision_id": decision,
                "status": status,
                "status_reason": "declined_by_recipient" if status == "declined" else None,
                "sent_at": made,
                "acknowledge_by": made + timedelta(hours=72),
                "subject_sex": rng.choice(SEXES),
                "subject_age_band": rng.choice(BANDS),
                "created_by": "bench",
                "created_at": made,
                "updated_at": made,
                **dict.fromkeys(MILESTONES.values()),
                **reached,
            }

    for chunk in batches(referral_rows()):
        with engine.begin() as conn:
            conn.execute(insert(Referral), chunk)
            conn.execute(insert(LifecycleEvent), events)
        events.clear()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return country


def timed(label: str, repeat: int, work: Callable[[], Any]) -> Any:
    spent, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        spent.append(time.perf_counter() - start)
    print(f"{label:<58} best {min(spent) * 1000:9.1f} ms   worst {max(spent) * 1000:9.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument(
        "--reuse", action="store_true", help="time a database kept by an earlier --keep run"
    )
    args = parser.parse_args()
    url = os.environ.get("HUB_BENCH_DATABASE_URL", DEFAULT_URL)
    policy = load_policy(POLICY)
    try:
        run(url, policy, args)
    finally:
        if not args.keep:
            drop(url)
    print(f"load average {os.getloadavg()}")


def run(url: str, policy: Any, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    if args.reuse:
        engine = create_engine(url)
        migrate.upgrade(engine)
        print(f"migrated in {time.perf_counter() - started:.1f} s")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would after a migration's backfill
        print(f"migrated and vacuumed in {time.perf_counter() - started:.1f} s")
        with Session(engine) as db:
            country = db.scalar(select(Organization.id).where(Organization.name == "IOM Niger"))
        if country is None:
            raise SystemExit("--reuse: no database kept by an earlier --keep run")
    else:
        engine = fresh_database(url)
        country = seed(engine, args.referrals, random.Random(args.seed))
    with Session(engine) as db:
        stored = db.scalar(select(func.count()).select_from(Referral))
        n_events = db.scalar(select(func.count()).select_from(LifecycleEvent))
    print(f"seeded {stored} referrals, {n_events} events in {time.perf_counter() - started:.1f} s")

    monthly = [Dimension.service_type, Dimension.partner, Dimension.status, Dimension.urgency]
    with Session(engine) as db:
        found = timed(
            "monthly report, whole hub (4 dimensions)",
            args.repeat,
            lambda: reports.report(
                db=db,
                policy=policy,
                organization_id=None,
                start=date(2026, 11, 1),
                end=date(2026, 11, 30),
                group_by=monthly,
            ),
        )
        print(f"  total {found.total}, {len(found.rows)} cells")
        print(f"  acknowledge {found.times['acknowledge']}")
        yearly = timed(
            "country office's year by month, sex, age band (its tree)",
            args.repeat,
            lambda: reports.report(
                db=db,
                policy=policy,
                organization_id=country,
                start=date(2026, 1, 1),
                end=date(2026, 12, 31),
                group_by=[Dimension.month, Dimension.sex, Dimension.age_band],
            ),
        )
        print(f"  total {yearly.total}, {len(yearly.rows)} cells")
        page, _ = timed(
            "GET /v1/referrals?scope=tree, first page of 50 (service)",
            args.repeat,
            lambda: referrals.get_page(
                db=db,
                organization_id=country,
                role=None,
                statuses=None,
                overdue=None,
                cursor=None,
                limit=50,
                scope=ListScope.tree,
            ),
        )
        print(f"  {len(page)} items")
    engine.dispose()


if __name__ == "__main__":
    main()
