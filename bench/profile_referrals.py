"""Where a referral's CPU goes: `POST /v1/referrals` in process on PostgreSQL (not a test).

    .venv/bin/python bench/profile_referrals.py [--requests 300] [--warmup 30] [--cases 50]
                                                [--top 40] [--sort tottime] [--out FILE]

Creates (drops first) the database at HUB_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_profile), migrates and seeds it as
bench/referrals.py does, binds the hub's app to it in this process and sends `--requests`
fresh referrals one after another (each sent by the gate: 201) through httpx's ASGI transport,
all on one thread.

It prints the process's CPU per request (`time.process_time`; the client's share is included:
the `httpx` rows of the profile), then a cProfile (CPU time of this thread) of the measured
requests. FastAPI runs a sync route and its dependencies in a worker thread, which cProfile
does not follow: here `anyio.to_thread.run_sync` runs them inline on the event loop's thread
instead (the order of the work is the same; only the thread differs). `--statements` lists
the SQL of one request (a background publisher's statement can show among them).
`--out` writes the raw profile for `python -m pstats` or snakeviz.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import time
import uuid
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from referrals import (  # bench/ is on sys.path when run as a script: its set-up is reused
    BROKER_URL,
    body_for,
    create_bench_table,
    migrated_runtime,
    seed,
)
from sqlalchemy import event

from hub.app import create_app
from hub.runtime import Runtime

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_profile"


async def _inline(func: Any, *args: Any, **_kwargs: Any) -> Any:
    return func(*args)


async def load(runtime: Runtime, world: Any, args: argparse.Namespace) -> cProfile.Profile | None:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
        response = await api.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(world.client_id, world.secret),
        )
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

        async def one(i: int) -> None:
            case_id = world.case_ids[i % len(world.case_ids)]
            response = await api.post(
                "/v1/referrals",
                json=body_for(world, case_id),
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert response.status_code == 201, response.text

        # sync routes and dependencies inline on this thread, where cProfile looks
        real = anyio.to_thread.run_sync
        anyio.to_thread.run_sync = _inline  # type: ignore[assignment]
        try:
            for i in range(args.warmup):
                await one(i)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for i in range(args.requests):
                await one(i)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            n = max(args.requests, 1)
            print(
                f"{args.requests} requests, not profiled: CPU {cpu / n * 1000:.2f} ms/request "
                f"(client included), wall {wall / n * 1000:.2f} ms/request"
            )
            if args.statements:
                sql: list[str] = []

                def grab(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
                    sql.append(" ".join(statement.split())[:300])

                event.listen(runtime.engine, "before_cursor_execute", grab)
                await one(args.requests)
                event.remove(runtime.engine, "before_cursor_execute", grab)
                print(f"{len(sql)} statements:")
                print("\n".join(f"{i:3}. {text}" for i, text in enumerate(sql, 1)))
            if args.no_profile:
                return None
            profile = cProfile.Profile(time.thread_time)
            profile.enable()
            for i in range(args.requests):
                await one(i)
            profile.disable()
            return profile
        finally:
            anyio.to_thread.run_sync = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--statements", action="store_true", help="list one request's SQL")
    parser.add_argument("--no-profile", action="store_true", help="CPU per request only")
    args = parser.parse_args()
    url = os.environ.get("HUB_BENCH_DATABASE_URL", DEFAULT_URL)

    with migrated_runtime(
        url, prefix="hub-bench-profile-", broker_url=BROKER_URL, public_url="http://127.0.0.1"
    ) as runtime:
        create_bench_table(runtime)
        world = seed(runtime, args.cases)
        profile = asyncio.run(load(runtime, world, args))
    if profile is None:
        return
    if args.out:
        profile.dump_stats(args.out)
    stats = pstats.Stats(profile).strip_dirs().sort_stats(args.sort)
    stats.print_stats(args.top)


if __name__ == "__main__":
    main()
