"""Benchmark of the consent gate on PostgreSQL (not a test).

    .venv/bin/python bench/gate.py [--decisions 2000] [--sizes 10000,1000000]

Creates (drops first) the database at HUB_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench), migrates it, makes a set of real cases
(created through the case service, with consent series, new versions, withdrawals and expired
ones), then bulk-loads filler consent versions over many other cases with COPY until the
consents table holds each requested size, and times gate decisions on random real cases at
each size: decisions per second, median and p99 latency of `decide()` (inside a transaction
that is already open), the client CPU time of `decide()` (unaffected by waiting for a busy
machine's scheduler), the whole transaction (load the case, decide, commit), and the
server-side execution time of the gate's own statement (EXPLAIN ANALYZE of what `decide()`
sends through `hub.consent.gate._read`: the agreements in force and the case's current consent
versions in one statement), which shows whether the part that could grow with the table does,
whatever else the machine is running.

The aim: a median under 2 ms that stays flat as the table grows a hundredfold.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from hub.cases import service as cases
from hub.cases.models import Case
from hub.cases.schemas import Subject
from hub.consent import gate
from hub.consent.models import Consent, ConsentWithdrawal
from hub.db import migrate
from hub.organizations import service as organizations
from hub.organizations.models import Organization
from hub.organizations.schemas import AgreementCreate, OrganizationCreate
from hub.runtime import Runtime
from hub.settings import load_settings

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench"
PURPOSE = "psychosocial_support"
CATEGORIES = ["identity", "contact", "household", "psychosocial", "health", "legal_status"]
KINDS = ["ngo", "iom_office", "un_agency", "government"]
REAL_CASES = 1000
WARM_UP = 200
CONSENT_COLUMNS = (
    "id, case_id, series_id, version, supersedes_id, given_by, caregiver_ciphertext, "
    "child_assent, method, witness, language, interpreter, purposes, recipient_organizations, "
    "recipient_kinds, categories, excluded_organizations, excluded_kinds, valid_from, "
    "valid_until, given_at, recorded_by, recorded_at"
)
WITHDRAWAL_COLUMNS = (
    "series_id, consent_id, case_id, withdrawn_at, method, reason_ciphertext, recorded_by"
)


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def series_rows(
    rng: random.Random, case_id: str, now: datetime, recipients: list[str]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """One case's consent versions and withdrawals, as COPY rows: 1-3 series of 1-3 versions,
    some withdrawn, some expired, some not covering the recipients."""
    consents: list[tuple[Any, ...]] = []
    withdrawals: list[tuple[Any, ...]] = []
    for _ in range(rng.randint(1, 3)):
        series = uuid.uuid4().hex
        previous: str | None = None
        start = now - timedelta(days=rng.randint(30, 900))
        versions = rng.randint(1, 3)
        for version in range(1, versions + 1):
            consent_id = uuid.uuid4().hex
            valid_from = start + timedelta(days=10 * version)
            expired = rng.random() < 0.1
            valid_until = now - timedelta(days=1) if expired else now + timedelta(days=365)
            consents.append(
                (
                    consent_id,
                    case_id,
                    series,
                    version,
                    previous,
                    "subject",
                    None,
                    None,
                    rng.choice(["written", "thumbprint", "electronic"]),
                    None,
                    "fr",
                    None,
                    json.dumps([PURPOSE, rng.choice(["shelter", "medical_care"])]),
                    json.dumps(rng.sample(recipients, k=rng.randint(0, 1))),
                    json.dumps(rng.sample(KINDS, k=rng.randint(1, 3))),
                    json.dumps(rng.sample(CATEGORIES, k=rng.randint(1, 5))),
                    json.dumps([]),
                    json.dumps(["government"] if rng.random() < 0.2 else []),
                    valid_from,
                    valid_until,
                    valid_from,
                    "bench",
                    valid_from,
                )
            )
            previous = consent_id
        if rng.random() < 0.15:
            withdrawn_at = now - timedelta(days=2)
            withdrawals.append((series, previous, case_id, withdrawn_at, "verbal", None, "bench"))
    return consents, withdrawals


def copy_rows(runtime: Runtime, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    raw = runtime.engine.raw_connection()
    try:
        cur = raw.cursor()
        # generated data is consistent by construction: skip the per-row FK triggers (superuser)
        cur.execute("SET session_replication_role = replica")
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def setup(runtime: Runtime, rng: random.Random) -> dict[str, Any]:
    policy = runtime.policy
    with runtime.sessions.begin() as db:

        def org(name: str, kind: str) -> str:
            data = OrganizationCreate(name=name, kind=kind, services=[])
            return organizations.create(db=db, policy=policy, actor="bench", data=data).id

        owner, ngo, ministry, filler = (
            org("IOM Agadez", "iom_office"),
            org("Partner NGO", "ngo"),
            org("Ministry", "government"),
            org("Filler office", "iom_office"),
        )
        for to in (ngo, ministry):
            organizations.create_agreement(
                db=db,
                policy=policy,
                actor="bench",
                data=AgreementCreate(
                    from_organization_id=owner,
                    to_organization_id=to,
                    purposes=[PURPOSE],
                    categories=CATEGORIES,
                    valid_from=datetime(2020, 1, 1, tzinfo=UTC),
                ),
            )
    real: list[str] = []
    now = datetime.now(UTC)
    consents: list[tuple[Any, ...]] = []
    withdrawals: list[tuple[Any, ...]] = []
    for i in range(REAL_CASES):
        with runtime.sessions.begin() as db:
            birth = datetime(rng.randint(1960, 2020), rng.randint(1, 12), rng.randint(1, 28)).date()
            case = cases.create(
                db=db,
                keyring=runtime.keyring,
                policy=policy,
                actor="bench",
                owner_organization_id=owner,
                external_ref=f"BENCH-{i}",
                subject=Subject(birth_date=birth, sex="female"),
                data={"identity": {"given_name": "x"}},
            )
            real.append(case.id)
        c, w = series_rows(rng, case.id, now, [ngo, ministry])
        consents += c
        withdrawals += w
    copy_rows(runtime, "consents", CONSENT_COLUMNS, consents)
    copy_rows(runtime, "consent_withdrawals", WITHDRAWAL_COLUMNS, withdrawals)
    return {"owner": owner, "recipients": [ngo, ministry], "filler": filler, "real": real}


def fill(runtime: Runtime, rng: random.Random, world: dict[str, Any], target: int) -> float:
    """Filler cases and consents until the consents table holds `target` rows; seconds taken."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with runtime.sessions.begin() as db:
        count = db.scalar(select(func.count()).select_from(Consent)) or 0
    batch = 200_000
    while count < target:
        case_rows: list[tuple[Any, ...]] = []
        consents: list[tuple[Any, ...]] = []
        withdrawals: list[tuple[Any, ...]] = []
        while len(consents) < min(batch, target - count):
            case_id = uuid.uuid4().hex
            case_rows.append((case_id, world["filler"], case_id, b"\x00", now, now))
            c, w = series_rows(rng, case_id, now, world["recipients"])
            consents += c
            withdrawals += w
        copy_rows(
            runtime,
            "cases",
            "id, owner_organization_id, external_ref, subject_ciphertext, created_at, updated_at",
            case_rows,
        )
        copy_rows(runtime, "consents", CONSENT_COLUMNS, consents)
        copy_rows(runtime, "consent_withdrawals", WITHDRAWAL_COLUMNS, withdrawals)
        count += len(consents)
    with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(runtime: Runtime, rng: random.Random, world: dict[str, Any], n: int) -> dict[str, Any]:
    decide_ms: list[float] = []
    cpu_ms: list[float] = []
    txn_ms: list[float] = []
    outcomes: dict[str, int] = {}
    total_started = time.perf_counter()
    for i in range(WARM_UP + n):
        case_id = rng.choice(world["real"])
        recipient_id = rng.choice(world["recipients"])
        wanted = rng.sample(CATEGORIES, k=rng.randint(1, 4))
        t0 = time.perf_counter()
        with runtime.sessions.begin() as db:
            case = db.get_one(Case, case_id)
            recipient = db.get_one(Organization, recipient_id)
            c1, t1 = time.process_time(), time.perf_counter()
            decision = gate.decide(
                db=db,
                keyring=runtime.keyring,
                policy=runtime.policy,
                case=case,
                recipient=recipient,
                purpose=PURPOSE,
                categories=wanted,
                at=datetime.now(UTC),
                actor="bench",
                context="bench",
            )
            c2, t2 = time.process_time(), time.perf_counter()
        t3 = time.perf_counter()
        if i == WARM_UP:
            total_started = t0
        if i >= WARM_UP:
            decide_ms.append((t2 - t1) * 1000)
            cpu_ms.append((c2 - c1) * 1000)
            txn_ms.append((t3 - t0) * 1000)
            outcomes[decision.outcome.value] = outcomes.get(decision.outcome.value, 0) + 1
    elapsed = time.perf_counter() - total_started
    return {
        "per_second": n / elapsed,
        "decide_median": statistics.median(decide_ms),
        "decide_p99": percentile(decide_ms, 0.99),
        "cpu_median": statistics.median(cpu_ms),
        "txn_median": statistics.median(txn_ms),
        "txn_p99": percentile(txn_ms, 0.99),
        "outcomes": outcomes,
    }


def gate_statement(runtime: Runtime, case_id: str, recipient_id: str) -> tuple[str, Any]:
    """The SQL and parameters of the gate's one read for a decision on the case for the
    recipient (`gate._read`: the agreements' terms in force and the case's current consent
    versions), as sent."""
    captured: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append((statement, params))

    with runtime.sessions() as db:
        case = db.get_one(Case, case_id)
        recipient = db.get_one(Organization, recipient_id)
        event.listen(runtime.engine, "before_cursor_execute", grab)
        try:
            gate._read(db, case, recipient, datetime.now(UTC))
        finally:
            event.remove(runtime.engine, "before_cursor_execute", grab)
    (found,) = captured  # one statement, or the gate no longer reads as this bench assumes
    return found


def server_time(runtime: Runtime, pairs: list[tuple[str, str]]) -> float:
    """Median server-side execution time (ms) of the gate's statement: the part of a decision
    that could grow with the table, measured without the client's round trips."""
    times = []
    with runtime.engine.connect() as conn:
        for case_id, recipient_id in pairs:
            statement, params = gate_statement(runtime, case_id, recipient_id)
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
            times.append(plan.scalar_one()[0]["Execution Time"])
    return statistics.median(times)


def explain(runtime: Runtime, case_id: str, recipient_id: str) -> str:
    """The plan of the gate's statement for one case: it must not scan the consents."""
    statement, params = gate_statement(runtime, case_id, recipient_id)
    with runtime.engine.connect() as conn:
        return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, params))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="print the gate statement's plan")
    args = parser.parse_args()
    url = os.environ.get("HUB_BENCH_DATABASE_URL", DEFAULT_URL)
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(args.seed)

    fresh_database(url)
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    os.chmod(data_dir, 0o700)
    runtime = Runtime(load_settings(data_dir=data_dir, database_url=url))
    migrate.upgrade(runtime.engine)
    started = time.perf_counter()
    world = setup(runtime, rng)
    print(f"set-up: {REAL_CASES} real cases in {time.perf_counter() - started:.1f} s")
    print(
        f"{'consents':>10} {'load s':>7} {'dec/s':>7} {'decide p50':>11} {'decide p99':>11} "
        f"{'cpu p50':>8} {'txn p50':>8} {'txn p99':>8} {'read p50':>10}  outcomes"
    )
    for size in sizes:
        load_s = fill(runtime, rng, world, size)
        with runtime.sessions.begin() as db:
            actual = db.scalar(select(func.count()).select_from(Consent)) or 0
            withdrawn = db.scalar(select(func.count()).select_from(ConsentWithdrawal)) or 0
        result = run(runtime, rng, world, args.decisions)
        pairs = [(c, rng.choice(world["recipients"])) for c in rng.sample(world["real"], 200)]
        query_ms = server_time(runtime, pairs)
        print(
            f"{actual:>10,} {load_s:>7.1f} {result['per_second']:>7.0f} "
            f"{result['decide_median']:>8.2f} ms {result['decide_p99']:>8.2f} ms "
            f"{result['cpu_median']:>5.2f} ms "
            f"{result['txn_median']:>5.2f} ms {result['txn_p99']:>5.2f} ms "
            f"{query_ms:>7.3f} ms  "
            f"{result['outcomes']} ({withdrawn:,} withdrawn series)"
        )
        if args.explain:
            print(explain(runtime, world["real"][0], world["recipients"][0]))
    # the figures depend on what else the machine runs: say so next to them
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    runtime.dispose()


if __name__ == "__main__":
    main()
