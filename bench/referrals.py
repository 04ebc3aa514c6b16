"""Benchmark of referral creation through the real hub on PostgreSQL (not a test).

    .venv/bin/python bench/referrals.py [--clients 16] [--requests 100] [--warmup 10]

Creates (drops first) the database at HUB_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_referrals), migrates it, and seeds it
through the hub's services: an IOM sub-office with an OAuth client, a partner NGO, a data
sharing agreement between them, and a few hundred cases, each with a consent covering the NGO
and the purpose, so every POST /v1/referrals is a fresh referral the consent gate sends (201).

Then it starts two servers on free ports of 127.0.0.1 against that database: the hub itself
(`hub serve`, with a Redis broker so no embedded worker runs: delivery messages stay queued in
the outbox) and bench/bare_app.py (one authenticated INSERT, verifying the same hub-issued token
with the hub's own dependency). Each gets the same load: `--clients` threads, each with its own
keep-alive httpx client, a warm-up, then `--requests` requests per client. It prints requests,
errors, wall time, throughput and p50/p99 latency for each, and the hub/bare ratios.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from hub.auth.clients import create_client
from hub.cases import service as cases
from hub.cases.schemas import Subject
from hub.consent import service as consents
from hub.consent.schemas import ConsentCreate, Parties
from hub.db import migrate
from hub.organizations import service as organizations
from hub.organizations.schemas import AgreementCreate, OrganizationCreate
from hub.referrals.models import Referral
from hub.runtime import Runtime
from hub.settings import load_settings

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_referrals"
BROKER_URL = "redis://127.0.0.1:6379/14"
HOST = "127.0.0.1"
PURPOSE = "psychosocial_support"
CATEGORIES = ["identity", "contact", "psychosocial"]  # none sensitive: no review is triggered
BENCH = Path(__file__).resolve().parent
START_SECONDS = 60.0


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


@contextmanager
def migrated_runtime(url: str, *, prefix: str, **settings: Any) -> Iterator[Runtime]:
    """A runtime on a fresh, migrated database at `url`, with a data folder of its own (0700,
    removed afterwards), for the scripts that run the hub in their own process."""
    fresh_database(url)
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(data_dir, 0o700)
    runtime = Runtime(
        load_settings(database_url=url, data_dir=data_dir, log_level="WARNING", **settings)
    )
    try:
        migrate.upgrade(runtime.engine)
        yield runtime
    finally:
        runtime.dispose()
        shutil.rmtree(data_dir, ignore_errors=True)


def create_bench_table(runtime: Runtime) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_inserts (id bigserial PRIMARY KEY, organization_id text "
                "NOT NULL, client_id text NOT NULL, body jsonb NOT NULL, created_at timestamptz "
                "NOT NULL DEFAULT now())"
            )
        )


@dataclass(frozen=True)
class World:
    client_id: str
    secret: str
    recipient_id: str
    case_ids: list[str]


def seed(runtime: Runtime, n_cases: int) -> World:
    policy, keyring = runtime.policy, runtime.keyring
    with runtime.sessions.begin() as db:
        sender = organizations.create(
            db=db,
            policy=policy,
            actor="bench",
            data=OrganizationCreate(name="IOM Agadez (bench)", kind="iom_office", services=[]),
        )
        recipient = organizations.create(
            db=db,
            policy=policy,
            actor="bench",
            data=OrganizationCreate(name="Partner NGO (bench)", kind="ngo", services=[PURPOSE]),
        )
        organizations.create_agreement(
            db=db,
            policy=policy,
            actor="bench",
            data=AgreementCreate(
                from_organization_id=sender.id,
                to_organization_id=recipient.id,
                purposes=[PURPOSE],
                categories=CATEGORIES,
                valid_from=datetime(2020, 1, 1, tzinfo=UTC),
            ),
        )
        client, secret = create_client(
            db=db, organization_id=sender.id, scope="referrals:write referrals:read"
        )
        sender_id, recipient_id, client_id = sender.id, recipient.id, client.client_id
    assert secret is not None
    case_ids: list[str] = []
    for i in range(n_cases):
        with runtime.sessions.begin() as db:
            case = cases.create(
                db=db,
                keyring=keyring,
                policy=policy,
                actor="bench",
                owner_organization_id=sender_id,
                external_ref=f"BENCH-{i}",
                subject=Subject(birth_date=datetime(1990, 4, 2).date(), sex="female"),
                data={
                    "identity": {"given_name": "Bench", "family_name": f"Case {i}"},
                    "contact": {"phone": "+227 90 00 00 00"},
                    "psychosocial": {"notes": "synthetic"},
                },
            )
            consents.record(
                db=db,
                keyring=keyring,
                policy=policy,
                actor="bench",
                case=case,
                data=ConsentCreate(
                    given_by="subject",
                    method="written",
                    language="fr",
                    purposes=[PURPOSE],
                    recipients=Parties(organizations=[recipient_id]),
                    categories=CATEGORIES,
                    valid_from=datetime.now(UTC) - timedelta(days=1),
                ),
            )
            case_ids.append(case.id)
    return World(client_id, secret, recipient_id, case_ids)


def session_cpu_seconds(leader: int) -> float:
    """CPU time (user + system) so far of every live process in `leader`'s session: a server
    started with `start` and whatever it forked (uvicorn's worker processes)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # the fields after the command's closing parenthesis: state, ppid, pgrp, session, ...
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == leader:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        # its own process group, so stop() reaches whatever it forks
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


def wait_ready(
    process: subprocess.Popen[bytes], name: str, method: str, url: str, log: Path
) -> None:
    """Until the server answers anything at all; its log is shown if it dies or never does."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            response = httpx.request(method, url, timeout=2.0)
            if method == "GET" and response.status_code != 200:
                raise httpx.HTTPError(f"{response.status_code}")
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:]
    raise SystemExit(f"{name} did not start (exit code {process.poll()}):\n{tail}")


def access_token(base: str, world: World) -> str:
    response = httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(world.client_id, world.secret),
        timeout=30.0,
    )
    if response.status_code != 200:
        raise SystemExit(f"no access token: {response.status_code} {response.text[:300]}")
    return str(response.json()["access_token"])


@dataclass
class Result:
    requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0
    cut_short: bool = False
    cpu_s: float = 0.0  # the server's processes, over the measured requests

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def cpu_ms(self) -> float:
        """The server's CPU per request (failed ones included: they cost it too)."""
        return self.cpu_s / self.requests * 1000 if self.requests else float("nan")

    @property
    def throughput(self) -> float:
        return self.ok / self.wall_s if self.wall_s else 0.0


def body_for(world: World, case_id: str) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "to_organization_id": world.recipient_id,
        "service_type": PURPOSE,
        "purpose": PURPOSE,
        "urgency": "normal",
        "categories": CATEGORIES,
        "note": "Synthetic referral made by bench/referrals.py.",
    }


def load(
    url: str,
    token: str,
    world: World,
    args: argparse.Namespace,
    deadline: float,
    server: subprocess.Popen[bytes],
) -> Result:
    """`args.clients` threads hammer `url`; each request is a fresh referral's body. The
    server's CPU is counted from when the clients start together to when the last ends."""
    result = Result()
    lock = threading.Lock()
    cases = itertools.cycle(world.case_ids)
    started: list[float] = []
    cpu_at_start: list[float] = []

    def all_set() -> None:
        cpu_at_start.append(session_cpu_seconds(server.pid))
        started.append(time.perf_counter())

    barrier = threading.Barrier(args.clients, action=all_set)
    headers = {"Authorization": f"Bearer {token}"}

    def one(client: httpx.Client) -> tuple[float, str | None]:
        with lock:
            case_id = next(cases)
        extra = {"Idempotency-Key": uuid.uuid4().hex} if args.idempotency_key else {}
        t0 = time.perf_counter()
        try:
            response = client.post(url, json=body_for(world, case_id), headers=extra)
        except httpx.HTTPError as exc:
            return (time.perf_counter() - t0) * 1000, type(exc).__name__
        elapsed = (time.perf_counter() - t0) * 1000
        return elapsed, None if response.status_code == 201 else f"HTTP {response.status_code}"

    def client_thread() -> None:
        timeout = httpx.Timeout(args.timeout)
        with httpx.Client(headers=headers, timeout=timeout) as client:
            for _ in range(args.warmup):
                one(client)
            try:
                barrier.wait(timeout=max(1.0, deadline - time.monotonic()))
            except threading.BrokenBarrierError:
                return
            for _ in range(args.requests):
                if time.monotonic() > deadline:
                    result.cut_short = True
                    break
                ms, error = one(client)
                with lock:
                    result.requests += 1
                    if error is None:
                        result.latencies_ms.append(ms)
                    else:
                        result.errors[error] += 1

    threads = [threading.Thread(target=client_thread, daemon=True) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + args.timeout + 5)
    if any(thread.is_alive() for thread in threads) or not started:
        result.cut_short = True
    result.wall_s = time.perf_counter() - started[0] if started else 0.0
    if cpu_at_start:
        result.cpu_s = session_cpu_seconds(server.pid) - cpu_at_start[0]
    return result


def report(name: str, r: Result) -> None:
    errors = sum(r.errors.values())
    detail = f"  {dict(r.errors)}" if r.errors else ""
    short = "  (cut short by --max-seconds)" if r.cut_short else ""
    print(
        f"{name:<6} {r.requests:>8} {errors:>6} {r.wall_s:>7.1f} s {r.throughput:>8.1f} "
        f"{r.percentile(0.5):>8.1f} ms {r.percentile(0.99):>8.1f} ms {r.cpu_ms:>8.2f} ms"
        f"{detail}{short}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (threads)")
    parser.add_argument("--requests", type=int, default=100, help="measured requests per client")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up requests per client")
    parser.add_argument("--cases", type=int, default=300, help="seeded cases, used round-robin")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument(
        "--max-seconds", type=float, default=900.0, help="cap on the two load phases together"
    )
    parser.add_argument(
        "--processes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2],
        help="server processes of each target, one load each (comma-separated)",
    )
    parser.add_argument(
        "--no-idempotency-key",
        dest="idempotency_key",
        action="store_false",
        help="send hub requests without an Idempotency-Key (partners are told to send one)",
    )
    args = parser.parse_args()
    url = os.environ.get("HUB_BENCH_DATABASE_URL", DEFAULT_URL)
    if make_url(url).host not in (HOST, "localhost"):
        raise SystemExit("the benchmark only talks to 127.0.0.1")

    # a plain `kill` of the benchmark unwinds through `finally` too, stopping the servers
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    fresh_database(url)
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-referrals-"))
    os.chmod(data_dir, 0o700)
    hub_port, bare_port = free_port(), free_port()
    hub_base, bare_base = f"http://{HOST}:{hub_port}", f"http://{HOST}:{bare_port}"
    # the seeding, the hub and the bare app read the same settings (keyring, issuer, database)
    hub_env = {
        "HUB_DATABASE_URL": url,
        "HUB_BROKER_URL": BROKER_URL,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_PUBLIC_URL": hub_base,
    }
    env = {**os.environ, **hub_env}
    processes: list[subprocess.Popen[bytes]] = []
    runtime = Runtime(
        load_settings(**{name.removeprefix("HUB_").lower(): v for name, v in hub_env.items()})
    )
    try:
        migrate.upgrade(runtime.engine)
        create_bench_table(runtime)
        t0 = time.perf_counter()
        world = seed(runtime, args.cases)
        seeded_s = time.perf_counter() - t0
        print(f"seeded {len(world.case_ids)} cases with consents in {seeded_s:.1f} s")

        bin_dir = Path(sys.executable).parent
        deadline = time.monotonic() + args.max_seconds
        print(
            f"{args.clients} clients x {args.requests} requests (after {args.warmup} warm-up "
            f"each); Idempotency-Key sent: {'yes' if args.idempotency_key else 'no'}"
        )
        for n in args.processes:
            hub_log, bare_log = data_dir / f"hub-{n}.log", data_dir / f"bare-{n}.log"
            hub_cmd = [str(bin_dir / "hub"), "serve", "--host", HOST, "--port", str(hub_port)]
            hub_cmd += ["--workers", str(n)]
            bare_cmd = [str(bin_dir / "python"), "-m", "uvicorn", "--factory", "--app-dir"]
            bare_cmd += [str(BENCH), "bare_app:create_app", "--host", HOST]
            bare_cmd += ["--port", str(bare_port), "--workers", str(n)]
            bare_cmd += ["--no-access-log", "--log-level", "warning"]
            servers = [start(hub_cmd, env, hub_log), start(bare_cmd, env, bare_log)]
            processes += servers
            wait_ready(servers[0], "hub", "GET", f"{hub_base}/readyz", hub_log)
            wait_ready(servers[1], "bare app", "POST", f"{bare_base}/insert", bare_log)
            token = access_token(hub_base, world)
            print(f"{n} server process{'es' if n > 1 else ''} each:")
            print(
                f"{'target':<6} {'requests':>8} {'errors':>6} {'wall':>9} {'req/s':>8} "
                f"{'p50':>11} {'p99':>11} {'CPU/req':>11}"
            )
            hub = load(f"{hub_base}/v1/referrals", token, world, args, deadline, servers[0])
            report("hub", hub)
            bare = load(f"{bare_base}/insert", token, world, args, deadline, servers[1])
            report("bare", bare)
            if hub.ok and bare.ok:
                print(
                    f"hub/bare: throughput {hub.throughput / bare.throughput:.3f}, "
                    f"p50 {hub.percentile(0.5) / bare.percentile(0.5):.1f}x, "
                    f"p99 {hub.percentile(0.99) / bare.percentile(0.99):.1f}x, "
                    f"CPU per request {hub.cpu_ms / bare.cpu_ms:.1f}x"
                )
            for server in servers:
                stop(server)
        with runtime.sessions() as db:
            sent = db.scalar(
                select(func.count()).select_from(Referral).where(Referral.status == "sent")
            )
            total = db.scalar(select(func.count()).select_from(Referral))
        print(f"referrals in the database: {total} ({sent} sent, warm-up included)")
    finally:
        for process in processes:
            stop(process)
        runtime.dispose()
        # the folder holds the keyring and signing keys of a throwaway hub
        shutil.rmtree(data_dir, ignore_errors=True)
    # the figures depend on what else the machine runs: say so next to them
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
