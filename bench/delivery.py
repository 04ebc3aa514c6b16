"""Benchmark of referral delivery through webhooks on PostgreSQL and Redis (not a test).

    .venv/bin/python bench/delivery.py [--referrals 300] [--clients 8] [--workers 2]

Measures, for each referral, the time from the start of its `POST /v1/referrals` to the
arrival of its webhook at a server the script runs on 127.0.0.1 (matched by `referral.id` in
the webhook's body), and the deliveries per second from the first POST to the last arrival.

Set-up, all done here and undone at the end: a fresh PostgreSQL database at
HUB_BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_delivery)
migrated with `hub db upgrade`; Redis at 127.0.0.1:6379 (database 13) under a key prefix of
this run; the organisations, agreement, OAuth client, cases and consents of bench/referrals.py;
the recipient's channel set to the script's webhook with `hub channels set`; then `hub serve`
(a real broker: no embedded worker), `hub beat` (the outbox dispatcher, every 0.2 s) and
`--workers` × `hub worker`. A warm-up of one referral per client is delivered before the
measured run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import redis
from referrals import (  # bench/ is on sys.path when run as a script: its set-up is reused
    HOST,
    World,
    access_token,
    body_for,
    free_port,
    seed,
    start,
    stop,
    wait_ready,
)
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from hub.delivery.models import Delivery
from hub.outbox.models import OutboxMessage
from hub.referrals.models import Referral
from hub.runtime import Runtime
from hub.settings import load_settings

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_delivery"
# bench/referrals.py uses 14 and the test suite 15; the key prefix keeps runs apart anyway
BROKER_URL = "redis://127.0.0.1:6379/13"
POLL_SECONDS = "0.2"
WORKERS_READY_SECONDS = 90.0
WEBHOOK_PATH = "/hook"


@dataclass
class Arrivals:
    """What the webhook received: per referral id, the perf_counter() of each arrival."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    other_events: Counter[str] = field(default_factory=Counter)
    unreadable: int = 0

    def first(self, referral_id: str) -> float | None:
        with self.lock:
            got = self.times.get(referral_id)
            return got[0] if got else None

    def received(self, ids: list[str]) -> int:
        with self.lock:
            return sum(1 for i in ids if self.times.get(i))


def webhook_server(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Hook(BaseHTTPRequestHandler):
        # keep-alive, as a partner's server would offer the hub's connection pool
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            # the moment the whole delivery has arrived
            now = time.perf_counter()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            try:
                doc = json.loads(raw)
                event = str(doc.get("event"))
                referral_id = doc["referral"]["id"] if event == "referral.sent" else None
            except (ValueError, KeyError, TypeError, AttributeError):
                with arrivals.lock:
                    arrivals.unreadable += 1
                return
            with arrivals.lock:
                if referral_id is None:
                    arrivals.other_events[event] += 1
                else:
                    arrivals.times[str(referral_id)].append(now)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Hook)
    server.daemon_threads = True
    return server


@dataclass
class Load:
    """The POSTs of one phase: per referral id, the perf_counter() its POST started."""

    started: dict[str, float] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    first_start: float = 0.0
    last_end: float = 0.0
    post_ms: list[float] = field(default_factory=list)


def post_referrals(
    base: str, token: str, world: World, n: int, clients: int, timeout: float
) -> Load:
    """`clients` threads with keep-alive clients share `n` fresh referrals."""
    load = Load()
    lock = threading.Lock()
    todo = iter(range(n))
    barrier = threading.Barrier(clients, action=lambda: setattr(load, "first_start", now()))
    url = f"{base}/v1/referrals"

    def now() -> float:
        return time.perf_counter()

    def client_thread() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(headers=headers, timeout=httpx.Timeout(timeout)) as client:
            barrier.wait()
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                body = body_for(world, world.case_ids[i % len(world.case_ids)])
                body["note"] = "Synthetic referral made by bench/delivery.py."
                t0 = now()
                try:
                    response = client.post(
                        url, json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
                    )
                except httpx.HTTPError as exc:
                    with lock:
                        load.errors[type(exc).__name__] += 1
                    continue
                t1 = now()
                with lock:
                    load.last_end = max(load.last_end, t1)
                    if response.status_code == 201:
                        load.started[str(response.json()["id"])] = t0
                        load.post_ms.append((t1 - t0) * 1000)
                    else:
                        load.errors[f"HTTP {response.status_code}"] += 1

    threads = [threading.Thread(target=client_thread, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return load


def wait_for(arrivals: Arrivals, ids: list[str], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if arrivals.received(ids) == len(ids):
            return True
        time.sleep(0.02)
    return arrivals.received(ids) == len(ids)


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def hub(args: list[str], env: dict[str, str]) -> str:
    """Run a `hub` CLI command to completion; its output, or the script stops with it."""
    command = [str(Path(sys.executable).parent / "hub"), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"`hub {args[0]} {args[1]}` failed:\n{done.stderr[-3000:]}")
    return done.stdout


def wait_workers(runtime: Runtime, processes: list[subprocess.Popen[bytes]], n: int) -> None:
    """Until `n` workers answer a ping through the broker (Celery's remote control)."""
    deadline = time.monotonic() + WORKERS_READY_SECONDS
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            break
        if len(runtime.celery.control.ping(timeout=1.0)) >= n:
            return
    raise SystemExit("the workers did not start: see the logs printed below")


def database_counts(runtime: Runtime) -> str:
    with runtime.sessions() as db:
        parts = []
        for name, column in (
            ("referrals", Referral.status),
            ("deliveries", Delivery.status),
            ("outbox", OutboxMessage.status),
        ):
            rows = db.execute(select(column, func.count()).group_by(column)).all()
            parts.append(f"{name} " + ", ".join(f"{s} {c}" for s, c in sorted(rows)))
        # why anything ended dead: the recorded codes (never a body), with their attempts
        for name, model in (("deliveries", Delivery), ("outbox", OutboxMessage)):
            dead = db.execute(
                select(model.last_error, model.attempts, func.count())
                .where(model.status == "dead")
                .group_by(model.last_error, model.attempts)
            ).all()
            parts += [f"dead {name}: {error} after {n} attempts x{c}" for error, n, c in dead]
    return "; ".join(parts)


def outbox_stages(runtime: Runtime, since: datetime) -> str:
    """Where the time went, by the outbox rows' own timestamps (the hub's clock)."""
    with runtime.sessions() as db:
        rows = db.execute(
            select(OutboxMessage.created_at, OutboxMessage.dispatched_at, OutboxMessage.done_at)
            .where(OutboxMessage.created_at >= since)
            .where(OutboxMessage.dispatched_at.is_not(None), OutboxMessage.done_at.is_not(None))
        ).all()
    waited = sorted((d - c).total_seconds() * 1000 for c, d, _ in rows)
    ran = sorted((e - d).total_seconds() * 1000 for _, d, e in rows)
    return (
        f"outbox ({len(rows)} rows): written -> dispatched p50 {percentile(waited, 0.5):.0f} ms, "
        f"p99 {percentile(waited, 0.99):.0f} ms; dispatched -> done (queue, push, commit) "
        f"p50 {percentile(ran, 0.5):.0f} ms, p99 {percentile(ran, 0.99):.0f} ms"
    )


def drop_database(url: str, *, create: bool) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def clear_redis(prefix: str) -> int:
    client = redis.Redis.from_url(BROKER_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
    return len(keys)


def loadavg() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--referrals", type=int, default=300, help="measured referrals")
    parser.add_argument("--clients", type=int, default=8, help="concurrent API clients")
    parser.add_argument("--workers", type=int, default=2, help="`hub worker` processes")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="pool size of each worker (hub default)"
    )
    parser.add_argument("--cases", type=int, default=100, help="seeded cases, used round-robin")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per POST")
    parser.add_argument(
        "--wait", type=float, default=120.0, help="seconds to wait for deliveries after the POSTs"
    )
    args = parser.parse_args()
    url = os.environ.get("HUB_BENCH_DATABASE_URL", DEFAULT_URL)
    if make_url(url).host not in (HOST, "localhost"):
        raise SystemExit("the benchmark only talks to 127.0.0.1")

    load_before = loadavg()
    # a plain `kill` of the benchmark unwinds through `finally` too, stopping everything
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    drop_database(url, create=True)
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-delivery-"))
    os.chmod(data_dir, 0o700)
    prefix = f"hub-bench-delivery-{uuid.uuid4().hex[:12]}:"
    arrivals = Arrivals()
    hook = webhook_server(arrivals)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    hook_url = f"http://{HOST}:{hook.server_address[1]}{WEBHOOK_PATH}"
    hub_port = free_port()
    hub_base = f"http://{HOST}:{hub_port}"
    # the seeding, the CLI, the server, the scheduler and the workers read the same settings
    hub_env = {
        "HUB_DATABASE_URL": url,
        "HUB_BROKER_URL": BROKER_URL,
        "HUB_BROKER_KEY_PREFIX": prefix,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_PUBLIC_URL": hub_base,
        "HUB_OUTBOX_POLL_SECONDS": POLL_SECONDS,
        "HUB_CONNECTOR_ALLOWED_HOSTS": HOST,
        "HUB_CONNECTOR_REQUIRE_HTTPS": "false",
    }
    env = {**os.environ, **hub_env}
    settings = {name.removeprefix("HUB_").lower(): v for name, v in hub_env.items()}
    runtime: Runtime | None = None
    processes: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    failed = True
    try:
        runtime = Runtime(load_settings(**settings))
        hub(["db", "upgrade"], env)
        t0 = time.perf_counter()
        world = seed(runtime, args.cases)
        seeded_s = time.perf_counter() - t0
        channel = ["--org", world.recipient_id, "--kind", "webhook", "--url", hook_url]
        hub(["channels", "set", *channel], env)

        bin_hub = str(Path(sys.executable).parent / "hub")
        worker_cmd = [bin_hub, "worker"]
        if args.concurrency is not None:
            worker_cmd.append(f"--concurrency={args.concurrency}")
        commands = [("serve", [bin_hub, "serve", "--host", HOST, "--port", str(hub_port)])]
        commands.append(("beat", [bin_hub, "beat"]))
        commands += [(f"worker-{i + 1}", worker_cmd) for i in range(args.workers)]
        for name, command in commands:
            log = data_dir / f"{name}.log"
            processes.append((name, start(command, env, log), log))
        wait_ready(processes[0][1], "hub", "GET", f"{hub_base}/readyz", processes[0][2])
        wait_workers(runtime, [p for _, p, _ in processes], args.workers)
        token = access_token(hub_base, world)

        print(
            f"setup: PostgreSQL {make_url(url).database}, Redis {BROKER_URL} prefix {prefix!r}; "
            f"hub serve + hub beat (outbox poll {POLL_SECONDS} s) + {args.workers} x hub worker "
            f"(concurrency {args.concurrency or f'default = {os.cpu_count()} CPUs'}, prefork); "
            f"webhook {hook_url} (ThreadingHTTPServer, 204); {args.clients} clients; "
            f"{len(world.case_ids)} cases seeded in {seeded_s:.1f} s"
        )

        warm = post_referrals(hub_base, token, world, args.clients, args.clients, args.timeout)
        if warm.errors or not wait_for(arrivals, list(warm.started), args.wait):
            got = arrivals.received(list(warm.started))
            raise SystemExit(
                f"warm-up failed: POST errors {dict(warm.errors)}, "
                f"delivered {got}/{len(warm.started)} in {args.wait} s"
            )
        print(f"warm-up: {len(warm.started)} referrals posted and delivered")

        # perf_counter() to the wall clock the hub's timestamps use (one machine, one clock)
        wall_offset = time.time() - time.perf_counter()
        run = post_referrals(hub_base, token, world, args.referrals, args.clients, args.timeout)
        ids = list(run.started)
        complete = wait_for(arrivals, ids, args.wait)
        # a moment for late duplicates to show up
        time.sleep(1.0)

        with arrivals.lock:
            firsts = {i: arrivals.times[i][0] for i in ids if arrivals.times.get(i)}
            duplicates = sum(len(arrivals.times[i]) - 1 for i in ids if arrivals.times.get(i))
            known = set(ids) | set(warm.started)
            strangers = sum(len(v) for k, v in arrivals.times.items() if k not in known)
            others, unreadable = dict(arrivals.other_events), arrivals.unreadable
        latencies = sorted((firsts[i] - run.started[i]) * 1000 for i in firsts)
        post_wall = run.last_end - run.first_start
        delivery_wall = max(firsts.values()) - run.first_start if firsts else 0.0
        posts = sorted(run.post_ms)

        print(f"referrals: {args.referrals} posted, {len(ids)} created (201)", end="")
        print(f", errors {dict(run.errors)}" if run.errors else "")
        print(
            f"POSTs: {len(ids) / post_wall:.1f}/s over {post_wall:.2f} s "
            f"(POST latency p50 {percentile(posts, 0.5):.0f} ms, p99 "
            f"{percentile(posts, 0.99):.0f} ms)"
        )
        rate = len(firsts) / delivery_wall if delivery_wall else float("nan")
        print(
            f"delivered: {len(firsts)}/{len(ids)}"
            + ("" if complete else f" (gave up after {args.wait:.0f} s)")
            + f"; {rate:.1f} deliveries/s over {delivery_wall:.2f} s "
            "(first POST start to last arrival)"
        )
        print(
            f"POST start -> webhook arrival: p50 {percentile(latencies, 0.5):.0f} ms, "
            f"p90 {percentile(latencies, 0.9):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms, "
            f"max {latencies[-1] if latencies else float('nan'):.0f} ms"
        )
        print(
            f"duplicates received: {duplicates}; unmatched arrivals: {strangers}; "
            f"other events: {others or 0}; unreadable bodies: {unreadable}"
        )
        since = datetime.fromtimestamp(run.first_start + wall_offset, UTC)
        print(outbox_stages(runtime, since))
        counts = database_counts(runtime)
        print(f"database: {counts}")
        # a message that ended dead is a failure of the run too: the logs below say why
        failed = not complete or "dead" in counts
    finally:
        for _, process, _ in reversed(processes):
            stop(process)
        if failed:
            for name, _, log in processes:
                tail = log.read_text(errors="replace")[-6000:] if log.exists() else ""
                if tail.strip():
                    print(f"--- {name} log (tail) ---\n{tail}", file=sys.stderr)
        hook.shutdown()
        hook.server_close()
        if runtime is not None:
            runtime.dispose()
        drop_database(url, create=False)
        cleared = clear_redis(prefix)
        # the folder holds the keyring and signing keys of a throwaway hub
        shutil.rmtree(data_dir, ignore_errors=True)
        print(f"torn down: processes stopped, database dropped, {cleared} Redis keys removed")
    # the figures depend on what else the machine runs: say so next to them
    print(f"load average (1, 5, 15 min): before {load_before}; after {loadavg()}")


if __name__ == "__main__":
    main()
