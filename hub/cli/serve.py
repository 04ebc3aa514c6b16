"""`hub serve`: the API and console, with an embedded worker on the embedded default."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

import typer
import uvicorn

from hub.app import create_app
from hub.cli.context import cli_actor, runtime
from hub.cli.demo import seed_and_print
from hub.cli.listen import DEFAULT_HOST, DEFAULT_PORT, base_url
from hub.cli.reviews import seal_justifications_step
from hub.db import migrate
from hub.ops.logging import configure_logging
from hub.ops.metrics import MULTIPROCESS_ENV
from hub.worker.embedded import EmbeddedWorker


def serve(
    host: str = typer.Option(DEFAULT_HOST, help="Address to listen on."),
    port: int = typer.Option(DEFAULT_PORT, help="Port to listen on."),
    demo: bool = typer.Option(False, help="Seed demo organisations and print credentials."),
    workers: int | None = typer.Option(
        None,
        min=1,
        max=64,
        help="Server processes. Default: one per CPU core on PostgreSQL, one on the embedded "
        "SQLite (where more buys nothing).",
    ),
) -> None:
    """Run the hub."""
    # what is logged while the runtime is built (a database file's permissions put right)
    # is a JSON line too; the settings' level applies from the next line on
    configure_logging("INFO")
    rt = runtime(served_at=base_url(host, port))
    # the server processes and the embedded worker read their settings from the environment:
    # they name the hub (OAuth issuer, links in notices) by the same URL as this one
    os.environ["HUB_PUBLIC_URL"] = rt.settings.public_url
    configure_logging(rt.settings.log_level)
    processes = workers or (1 if rt.settings.is_sqlite else os.cpu_count() or 1)
    # a malformed policy stops the hub here, before any server process is started
    rt.policy  # noqa: B018
    if rt.settings.is_sqlite:
        # the embedded database is the operator's only copy: migrating it on start is the
        # zero-set-up promise; a PostgreSQL deployment runs `hub db upgrade` deliberately
        migrate.upgrade(rt.engine)
    elif not migrate.is_current(rt.engine):
        typer.echo("the database is not at the current schema: run `hub db upgrade`", err=True)
        raise typer.Exit(1)
    seal_justifications_step(rt, actor=cli_actor())
    if demo:
        seed_and_print(rt, url=base_url(host, port))
    app = create_app(rt) if processes == 1 else None
    if app is None:
        # each server process builds its own app; their request metrics meet in one folder
        _share_metrics(rt.settings.data_dir / "metrics")
        rt.dispose()
    # a real broker means production: `hub worker` and `hub beat` run as their own services;
    # the embedded one runs here, once, whatever the number of server processes
    worker = EmbeddedWorker() if rt.settings.is_embedded_broker else None
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal to the
    # handler it found: make that an exit that unwinds through `finally`, not a sudden death
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_on_signal)
    try:
        if worker is not None:
            worker.start()
        if app is not None:
            uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
        else:
            uvicorn.run(
                "hub.app:from_environment",
                factory=True,
                workers=processes,
                host=host,
                port=port,
                log_config=None,
                access_log=False,
            )
    finally:
        if worker is not None:
            # a second Ctrl-C must not cut the stop short and orphan the worker
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_IGN)
            worker.stop()


def _share_metrics(folder: Path) -> None:
    """prometheus_client's multiprocess mode: each process writes its counters under `folder`
    (read when each process starts, so set before they do) and `/metrics` adds them up. Files
    of an earlier run would be counted again: the folder starts empty."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)


def _exit_on_signal(signum: int, _frame: object) -> None:
    sys.exit(0)
