"""The outbox publisher's CPU per message: `hub.outbox.service.dispatch_ids` (not a test).

    .venv/bin/python bench/publisher.py [--sizes 1,4,16] [--passes 150] [--warmup 20]

What the hub's background publisher does after each commit, timed alone: for each size N, in
`--passes` rounds, N messages are written pending in one transaction, then one pass marks them
dispatched and hands them to the broker (Redis at 127.0.0.1:6379, database 12, emptied at the
end). With one request at a time every pass carries one message; under load a pass carries
what piled up behind the previous one. It prints the pass's CPU (this thread's, so the writing
transactions are not counted) per message and per pass, the first `--warmup` passes of each size
left out. The database is HUB_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_publisher), dropped and created first.
"""

from __future__ import annotations

import argparse
import os
import time

from referrals import migrated_runtime  # bench/ is on sys.path when run as a script

from hub.outbox import service
from hub.runtime import Runtime

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_publisher"
BROKER_URL = "redis://127.0.0.1:6379/12"
TOPIC = "bench.publisher"


def passes(runtime: Runtime, size: int, rounds: int, warmup: int) -> tuple[float, int]:
    """(CPU seconds of the timed passes, messages they sent)."""
    cpu, sent_total = 0.0, 0
    for i in range(rounds + warmup):
        with runtime.sessions.begin() as db:
            ids = [service.enqueue(db=db, topic=TOPIC, payload={"n": n}).id for n in range(size)]
        started = time.thread_time()
        sent = service.dispatch_ids(runtime, ids)
        took = time.thread_time() - started
        if len(sent) != size:
            raise SystemExit(f"a pass sent {len(sent)} of {size} messages: is Redis up?")
        if i >= warmup:
            cpu, sent_total = cpu + took, sent_total + len(sent)
    return cpu, sent_total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,4,16", help="messages per pass, comma-separated")
    parser.add_argument("--passes", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    url = os.environ.get("HUB_BENCH_DATABASE_URL", DEFAULT_URL)

    # the script runs the passes itself: no publisher after commits
    with migrated_runtime(
        url,
        prefix="hub-bench-publisher-",
        broker_url=BROKER_URL,
        outbox_dispatch_on_commit=False,
    ) as runtime:
        try:
            print("messages/pass  CPU/message  CPU/pass")
            for size in sizes:
                cpu, sent = passes(runtime, size, args.passes, args.warmup)
                print(f"{size:13}  {cpu / sent * 1000:8.3f} ms  {cpu / args.passes * 1000:6.3f} ms")
        finally:
            with runtime.celery.connection_for_write() as connection:
                connection.default_channel.client.flushdb()


if __name__ == "__main__":
    main()
