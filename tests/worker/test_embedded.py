"""`hub serve` on the embedded default runs its own worker, restarts it if it dies and takes
it down when the server stops; with a real broker it leaves the work to `hub worker`."""

from __future__ import annotations

import json
import os
import signal
import socket
import urllib.request
from collections.abc import Callable

import pytest

from hub.outbox import service
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from tests.support.outbox_handlers import create_effects_table, effect_count
from tests.support.workers import (
    HANDLERS,
    HUB,
    HubProcess,
    children,
    descendants,
    running,
    settings_env,
    wait_for,
)

pytestmark = pytest.mark.worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    return probe


def _serve(
    settings: Settings, hub_processes: Callable[..., HubProcess], **env: str
) -> tuple[HubProcess, int]:
    port = _free_port()
    serve = hub_processes(
        # one server process: what runs under it is the embedded worker alone
        [HUB, "serve", "--port", str(port), "--workers", "1"],
        settings_env(settings, **env),
        "serve",
    )
    wait_for(_answers(port), "hub serve to answer", watch=serve)
    return serve, port


def _workers_of(serve: HubProcess) -> list[int]:
    """Every running process under the server (the worker and its scheduler)."""
    return running(descendants(serve.pid))


def _done(rt: Runtime, key: str) -> Callable[[], bool]:
    with rt.sessions.begin() as db:
        outbox_id = service.enqueue(db=db, topic="test.effect", payload={"key": key}).id

    def check() -> bool:
        with rt.sessions() as db:
            return db.get_one(OutboxMessage, outbox_id).status == OutboxStatus.done

    return check


def test_serve_runs_restarts_and_stops_its_embedded_worker(
    worker_settings: Settings, hub_processes: Callable[..., HubProcess]
) -> None:
    # the embedded default, whatever broker the rest of the suite uses
    embedded = load_settings(
        **{**worker_settings.model_dump(exclude_defaults=True), "broker_url": None}
    )
    rt = Runtime(embedded)
    try:
        create_effects_table(rt.engine)
        serve, _ = _serve(embedded, hub_processes, HUB_WORKER_INCLUDE=HANDLERS)
        wait_for(_done(rt, "first"), "the embedded worker to run a message", watch=serve)
        assert effect_count(rt, "first") == 1
        first_workers = _workers_of(serve)
        (worker,) = running(children(serve.pid))

        # a worker that dies is replaced, and the work goes on
        for pid in [*descendants(worker), worker]:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: set(_workers_of(serve)) - set(first_workers), "a new worker", watch=serve)
        wait_for(_done(rt, "second"), "the restarted worker to run a message", watch=serve)

        everything = set(first_workers) | set(_workers_of(serve))
        serve.proc.send_signal(signal.SIGTERM)
        assert serve.proc.wait(timeout=60) == 0
        wait_for(lambda: not running(sorted(everything)), "no worker process left", timeout=30)

        # the server's output, with both workers' (no banner, no plain warning), is JSON lines
        records = [json.loads(line) for line in serve.logs().splitlines()]
        assert sum(r["message"].endswith(" ready.") for r in records) == 2
        # the notice Celery would write straight to stdout on a warm shutdown is logged
        assert any("Warm shutdown" in r["message"] for r in records)
    finally:
        rt.dispose()


def test_serve_with_a_real_broker_starts_no_worker(
    worker_settings: Settings, hub_processes: Callable[..., HubProcess]
) -> None:
    # production: the broker is a server (here one that is not even there) and `hub worker`
    # runs elsewhere
    production = load_settings(
        **{
            **worker_settings.model_dump(exclude_defaults=True),
            "broker_url": "redis://127.0.0.1:1/0",
        }
    )
    serve, _ = _serve(production, hub_processes)
    # the embedded worker would be started before the server answers
    assert _workers_of(serve) == []
    serve.proc.send_signal(signal.SIGTERM)
    assert serve.proc.wait(timeout=60) == 0
