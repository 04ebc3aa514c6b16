"""Benchmark of the audit chain's head lock on PostgreSQL (not a test).

    .venv/bin/python bench/audit.py [--threads 16] [--transactions 100] [--rows 5] [--entries 2]

Creates (drops first) the database at HUB_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_audit) and migrates it. Each of
`--threads` threads runs `--transactions` transactions shaped like a referral's: `--rows` rows
added to the session and left for the commit's flush (outbox rows), `--entries` audit entries
queued (`hub.audit.service.record`), then the commit, which appends them to the chain.

It prints transactions per second, the latency of a transaction's commit (p50, p99), and how
long the head row stayed locked as the client sees it: from the return of the statement that
took the lock (the head's `SELECT ... FOR UPDATE`, or the one `hub_audit_append` call that
locks, chains and moves it) to the return of the commit, p50 and p99, and the sum of the holds
over the wall time (near or above 100 %: the chain is the bottleneck; seen from the client, a
hold includes the thread's wait for the GIL after the server let go, so the sum can exceed the
wall time). The time a one-statement append holds the lock inside that statement is not seen
from here: the uncontended commit of the entries alone is printed too. Then the chain is
walked as `hub audit verify` does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from hub.audit.chain import GENESIS_HASH, walk
from hub.audit.service import record
from hub.db import migrate
from hub.outbox.models import OutboxMessage
from hub.runtime import Runtime
from hub.settings import load_settings

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_audit"


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def _is_lock(statement: str) -> bool:
    flat = " ".join(statement.split()).lower()
    return "hub_audit_append" in flat or ("from audit_head" in flat and "for update" in flat)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--transactions", type=int, default=100, help="per thread")
    parser.add_argument("--rows", type=int, default=5, help="rows flushed by each commit")
    parser.add_argument("--entries", type=int, default=2, help="audit entries per transaction")
    args = parser.parse_args()

    url = os.environ.get("HUB_BENCH_DATABASE_URL", DEFAULT_URL)
    fresh_database(url)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(
            data_dir=Path(data_dir), database_url=url, outbox_dispatch_on_commit=False
        )
        runtime = Runtime(settings)
        migrate.upgrade(runtime.engine)
        locked_at: dict[int, float] = {}

        def after_execute(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if _is_lock(statement):
                locked_at[threading.get_ident()] = time.perf_counter()

        event.listen(runtime.engine, "after_cursor_execute", after_execute)
        holds: list[float] = []
        commits: list[float] = []
        lock = threading.Lock()

        def one(n: int) -> None:
            with runtime.sessions() as db:
                db.begin()
                for i in range(args.rows):
                    db.add(OutboxMessage(topic="bench.audit", payload={"n": n, "i": i}))
                for i in range(args.entries):
                    record(
                        db,
                        actor="bench",
                        action="bench.append",
                        object_type="bench",
                        object_id=str(n),
                        details={"i": i},
                    )
                start = time.perf_counter()
                db.commit()
                end = time.perf_counter()
            taken = locked_at.pop(threading.get_ident())
            with lock:
                holds.append(end - taken)
                commits.append(end - start)

        for n in range(20):  # warm-up
            one(n)
        uncontended = []
        for _ in range(50):
            with runtime.sessions() as db:
                db.begin()
                for i in range(args.entries):
                    record(
                        db,
                        actor="bench",
                        action="bench.append",
                        object_type="bench",
                        details={"i": i},
                    )
                db.flush()
                start = time.perf_counter()
                db.commit()
                uncontended.append(time.perf_counter() - start)
        holds.clear()
        commits.clear()

        def worker(t: int) -> None:
            for k in range(args.transactions):
                one(t * args.transactions + k)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(args.threads)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        ms = 1000.0
        total = args.threads * args.transactions
        print(
            f"{args.threads} threads x {args.transactions} transactions, each {args.rows} rows "
            f"and {args.entries} audit entries"
        )
        print(f"transactions: {total / wall:.1f}/s over {wall:.1f} s")
        print(
            f"commit latency: p50 {percentile(commits, 0.5) * ms:.1f} ms, "
            f"p99 {percentile(commits, 0.99) * ms:.1f} ms"
        )
        print(
            f"head lock held (lock statement's return -> commit's return): p50 "
            f"{percentile(holds, 0.5) * ms:.2f} ms, p99 {percentile(holds, 0.99) * ms:.2f} ms, "
            f"mean {statistics.fmean(holds) * ms:.2f} ms; held {sum(holds) / wall * 100:.0f} % "
            "of the wall time"
        )
        print(
            f"uncontended commit of {args.entries} entries (no other rows): p50 "
            f"{percentile(uncontended, 0.5) * ms:.2f} ms"
        )
        with runtime.sessions() as db:
            walked = walk(db, after_seq=None, after_hash=GENESIS_HASH)
        print(f"chain: {walked.count} entries, break: {walked.brk}")
        print(f"load average (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        runtime.dispose()
    drop_database(url)


if __name__ == "__main__":
    main()
