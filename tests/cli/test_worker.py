"""`hub worker` and `hub beat` as production runs them: separate processes."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.outbox import service
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from tests.support.outbox_handlers import effect_count
from tests.support.workers import HANDLERS, HUB, HubProcess, settings_env, wait_for


@pytest.mark.worker
def test_a_worker_and_a_separate_scheduler_complete_the_work(
    outbox_runtime: Runtime,
    worker_settings: Settings,
    hub_processes: Callable[..., HubProcess],
) -> None:
    with outbox_runtime.sessions.begin() as db:
        outbox_id = service.enqueue(db=db, topic="test.effect", payload={"key": "prod"}).id
    env = settings_env(worker_settings)
    # options hub does not know go to `celery worker` as they are
    worker = hub_processes(
        [HUB, "worker", "--include", HANDLERS, "--concurrency", "1", "--max-tasks-per-child", "50"],
        env,
        "worker",
    )
    beat = hub_processes([HUB, "beat"], env, "beat")

    def done() -> bool:
        with outbox_runtime.sessions() as db:
            return db.get_one(OutboxMessage, outbox_id).status == OutboxStatus.done

    wait_for(done, "the message to be done", watch=worker)
    assert beat.alive(), beat.logs()
    assert effect_count(outbox_runtime, "prod") == 1


def test_a_worker_that_cannot_work_stops_at_once_saying_why(
    worker_settings: Settings, tmp_path: Path
) -> None:
    unmigrated = load_settings(
        **{
            **worker_settings.model_dump(exclude_defaults=True),
            "database_url": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        }
    )
    cases = [
        (["--include", "hub.no_such_module"], worker_settings, 2, "hub.no_such_module"),
        ([], unmigrated, 1, "hub db upgrade"),
    ]
    # started together: each one's start-up (imports) is most of the time spent
    procs = [
        subprocess.Popen(
            [HUB, "worker", *args],
            env=settings_env(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args, settings, _, _ in cases
    ]
    for proc, (args, _, code, message) in zip(procs, cases, strict=True):
        try:
            # a worker that started anyway would run on: the timeout makes that a failure
            _, stderr = proc.communicate(timeout=120)
        finally:
            proc.kill()
        assert proc.returncode == code, (args, stderr)
        assert message in stderr


@pytest.mark.worker
def test_a_worker_stopped_by_sigterm_writes_json_log_lines_only(
    worker_settings: Settings, hub_processes: Callable[..., HubProcess]
) -> None:
    # prefork, as production runs it; its stdout and stderr go to one file
    worker = hub_processes(
        [HUB, "worker", "--concurrency", "1"], settings_env(worker_settings), "worker"
    )
    wait_for(lambda: "ready." in worker.logs(), "the worker to be ready", watch=worker)
    # to the main process only, as a service manager stops it
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(timeout=60) == 0, worker.logs()
    lines = [line for line in worker.logs().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert all({"level", "logger", "message"} <= set(r) for r in records), lines
    # Celery's shutdown notice, said as a log record
    assert any("Warm shutdown" in r["message"] for r in records), lines
