"""Long-lived `hub` processes forked from the tests' fork server (tests/support/hub_fork.py) are
what the tests ask of a subprocess: a process group of their own, their output in a file, their exit
status, and a fork server still free to run other commands meanwhile."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.settings import Settings
from tests.support.cli import EXEC, ForkedProcess, run_hub
from tests.support.workers import HUB, HubProcess, settings_env, wait_for

pytestmark = pytest.mark.skipif(EXEC, reason="HUB_TEST_CLI_EXEC=1 execs every command")


def test_a_forked_command_ends_with_its_own_status_and_output(
    tmp_path: Path, hub_processes: Callable[..., HubProcess]
) -> None:
    # a database that was never migrated: `hub worker` says so and stops with 1
    data_dir = tmp_path / "empty"
    data_dir.mkdir(mode=0o700)
    env = settings_env(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 'never.sqlite3'}")
    )
    worker = hub_processes([HUB, "worker", "--pool", "solo"], env, "worker", forked=True)
    assert isinstance(worker.proc, ForkedProcess)
    assert worker.proc.wait(timeout=60) == 1
    assert "the database is not at the current schema" in worker.logs()


@pytest.mark.worker
def test_a_forked_worker_runs_in_its_own_process_group_beside_other_commands(
    worker_settings: Settings, start_worker: Callable[..., HubProcess]
) -> None:
    worker = start_worker()
    assert isinstance(worker.proc, ForkedProcess)
    assert os.getpgid(worker.pid) == worker.pid
    wait_for(lambda: "ready" in worker.logs(), "the worker to be ready", watch=worker)

    # the fork server does not wait for it: a command runs and ends while it works
    listed = run_hub(worker_settings, "orgs", "list")
    assert listed.returncode == 0, listed.stderr
    assert worker.alive()

    worker.kill_group(signal.SIGKILL)
    assert worker.proc.poll() == -signal.SIGKILL
