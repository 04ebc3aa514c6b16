"""`hub worker` and `hub beat`: Celery's worker and scheduler for production set-ups.

Options not listed here are passed to `celery worker` / `celery beat` as they are.
"""

from __future__ import annotations

import importlib
import logging
import os
from enum import StrEnum

import typer
from celery.apps import worker as celery_worker
from celery.signals import setup_logging

from hub.cli.context import runtime
from hub.cli.lazy import PASSTHROUGH
from hub.db import migrate
from hub.ops.logging import configure_logging
from hub.worker import process
from hub.worker.embedded import stop_with_parent

__all__ = ["PASSTHROUGH", "beat", "worker"]


class Pool(StrEnum):
    prefork = "prefork"
    threads = "threads"
    solo = "solo"


def worker(
    ctx: typer.Context,
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", min=1, help="Pool size (default: the number of CPUs)."
    ),
    pool: Pool | None = typer.Option(None, "--pool", "-P", help="Execution pool."),
    beat: bool = typer.Option(
        False, "--beat", "-B", help="Run the scheduler inside this worker (one per deployment)."
    ),
    include: list[str] = typer.Option(
        [], "--include", "-I", help="Extra module registering outbox handlers (repeatable)."
    ),
    # set by `hub serve` for its embedded worker; checked against our parent from the start,
    # as the server may already be gone by the time this process has imported everything
    parent_pid: int | None = typer.Option(None, "--parent-pid", hidden=True),
) -> None:
    """Run a Celery worker: outbox messages, and with --beat the schedule too."""
    # what is logged while the runtime is built (a database file's permissions put right)
    # is a JSON line too; the settings' level applies from the next line on
    configure_logging("INFO")
    rt = runtime()
    _use_hub_logging(rt.settings.log_level)
    if not migrate.is_current(rt.engine):
        # every task would fail on a missing table or column; say so once, up front
        typer.echo("the database is not at the current schema: run `hub db upgrade`", err=True)
        raise typer.Exit(1)
    modules = [*rt.settings.worker_include, *include]
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            typer.echo(f"cannot import worker module {name!r}: {exc}", err=True)
            raise typer.Exit(2) from None
    app = rt.celery
    app.conf.include = list(dict.fromkeys([*app.conf.include, *modules]))
    app.set_current()
    process.bind(rt)
    argv = [
        *_QUIET,
        "worker",
        f"--loglevel={rt.settings.log_level}",
        # nothing in the hub uses worker-to-worker chatter, and mingling slows every start
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
    ]
    if not any(a in ("-n", "--hostname") or a.startswith("--hostname=") for a in ctx.args):
        # unique per process, so several workers on one host do not clash
        argv.append(f"--hostname=hub-{os.getpid()}@%h")
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    if pool is not None:
        argv.append(f"--pool={pool.value}")
    if beat:
        argv += ["--beat", f"--schedule={app.conf.beat_schedule_filename}"]
    if parent_pid is not None:
        stop_with_parent(parent_pid)
    app.worker_main([*argv, *ctx.args])


def beat(ctx: typer.Context) -> None:
    """Run the Celery scheduler: outbox dispatch and audit checkpoints (one per deployment)."""
    # what is logged while the runtime is built (a database file's permissions put right)
    # is a JSON line too; the settings' level applies from the next line on
    configure_logging("INFO")
    rt = runtime()
    _use_hub_logging(rt.settings.log_level)
    app = rt.celery
    app.set_current()
    argv = [
        *_QUIET,
        "beat",
        f"--loglevel={rt.settings.log_level}",
        f"--schedule={app.conf.beat_schedule_filename}",
    ]
    app.start([*argv, *ctx.args])


# Celery's banner (its configuration in ASCII art, on stdout) is not a log line: the hub's
# output is JSON lines only, and what the banner shows is in the settings
_QUIET = ("--quiet",)

# a line per message received and per task run, and the scheduler's tick every few seconds:
# the hub's own tasks log what matters
_CHATTY = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


def _say_as_log(msg: str, f: object = None) -> None:
    logging.getLogger("celery.apps.worker").info(msg.strip())


def _use_hub_logging(level: str) -> None:
    def configure(**_: object) -> None:
        configure_logging(level)
        for name in _CHATTY:
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))

    configure()
    # Celery's shutdown notices ("worker: Warm shutdown (MainProcess)") are written by its
    # signal handlers straight to the process's stdout with `safe_say`, which no option
    # silences: said through the hub's log instead, they are JSON lines like the rest
    celery_worker.safe_say = _say_as_log
    # warnings are log records too: Celery warns through `warnings` (a worker running as root,
    # from celery.platforms), which would print several plain lines among the JSON ones
    logging.captureWarnings(True)
    # a receiver on setup_logging tells Celery to leave logging alone (JSON, no data)
    setup_logging.connect(configure, weak=False)


if __name__ == "__main__":
    # `python -m hub.cli.worker`: `hub worker` alone, as `hub serve` starts its embedded worker
    standalone = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    standalone.command(context_settings=PASSTHROUGH)(worker)
    standalone()
