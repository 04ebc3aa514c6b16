"""`hub worker` and `hub beat` as production runs them: separate processes."""

from __future__ import annotations

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


def test_a_worker_module_that_cannot_be_imported_stops_the_worker(
    worker_settings: Settings,
) -> None:
    result = subprocess.run(
        [HUB, "worker", "--include", "hub.no_such_module"],
        env=settings_env(worker_settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "hub.no_such_module" in result.stderr


def test_a_worker_refuses_a_database_that_is_not_migrated(
    worker_settings: Settings, tmp_path: Path
) -> None:
    empty = load_settings(
        **{
            **worker_settings.model_dump(exclude_defaults=True),
            "database_url": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        }
    )
    result = subprocess.run(
        [HUB, "worker"],
        env=settings_env(empty),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "hub db upgrade" in result.stderr
