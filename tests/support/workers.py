"""Real Celery worker processes for tests, and settings that make leases short.

A pytest plugin (registered in tests/conftest.py): its fixtures `broker_prefix`,
`worker_settings`, `outbox_runtime`, `hub_processes` and `start_worker` serve every test.

`hub worker` runs as a subprocess in its own process group with the test's settings in its
environment (the filesystem broker under the test's data folder, or the Redis of
`HUB_TEST_BROKER_URL` under a key prefix of the test's own, purged afterwards). Every wait is
bounded and every process group is killed when the test ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from kombu import Connection
from pydantic import SecretStr

from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from hub.worker.celery_app import DEFAULT_QUEUE
from tests.support.cli import ForkedProcess, forkable, start_forked
from tests.support.outbox_handlers import create_effects_table

REPO = Path(__file__).resolve().parents[2]
HANDLERS = "tests.support.outbox_handlers"
HUB = str(Path(sys.executable).with_name("hub"))
# a worker's start (imports, broker, scheduler) can take a while on a busy CI machine; the
# tests themselves take seconds when it does not
WAIT_SECONDS = 90.0
PR_SET_PDEATHSIG = 1

# short leases and back-off so that crashes and lost messages are recovered within seconds
FAST_OUTBOX = {
    "outbox_lease_seconds": 3,
    "outbox_poll_seconds": 0.3,
    "outbox_backoff_seconds": 1,
    "outbox_max_attempts": 3,
    "broker_visibility_timeout": 5,
    "deadline_check_seconds": 1,
}


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes a `hub` process load exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    # so a worker can import the test handlers (`--include tests.support...`)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    for name, value in settings.model_dump(exclude_defaults=True).items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = ",".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[f"HUB_{name.upper()}"] = str(value)
    env.update(extra)
    return env


def wait_for(
    predicate: Callable[[], Any],
    what: str,
    *,
    timeout: float = WAIT_SECONDS,
    watch: HubProcess | None = None,
) -> Any:
    """Poll until `predicate()` is true; fail at the timeout, or at once if `watch` exits."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if watch is not None and not watch.alive():
            raise AssertionError(f"process exited while waiting for {what}:\n{watch.logs()}")
        if time.monotonic() > deadline:
            detail = f"\n--- logs ---\n{watch.logs()}" if watch else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(0.1)


def _die_with_the_test_run() -> None:
    """In the child: be killed when the test process ends, even if it was killed itself and
    its fixtures never tore down (Linux; a `hub serve` then stops its own worker)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class HubProcess:
    """A `hub` subprocess in its own process group, its output in a file.

    With `forked`, it is forked from the process that imported the hub once
    (tests/support/hub_fork.py) instead of exec'd, which imports the hub again before the
    worker's first task (the ~30 tests that start workers: 97 s → 81 s of CPU on PostgreSQL).
    Tests of what a command does when it starts (tests/cli, tests/worker) exec it as an
    operator would."""

    def __init__(
        self, argv: list[str], env: dict[str, str], log_path: Path, *, forked: bool = False
    ) -> None:
        self.log_path = log_path
        self._log: BinaryIO | None = None
        self.proc: subprocess.Popen[bytes] | ForkedProcess
        if forked and forkable(env):
            self.proc = start_forked(argv, env, log_path)
            return
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_the_test_run,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill_group(self, sig: signal.Signals = signal.SIGKILL, timeout: float = 30) -> None:
        """Signal the process group, and with SIGKILL every descendant (even in groups of
        their own, as `hub serve`'s worker is)."""
        others = descendants(self.proc.pid) if sig == signal.SIGKILL else []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        for pid in others:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self._log is not None:
                self._log.close()


def _processes() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, process group, state) of every process, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


def children(pid: int) -> list[int]:
    return [p for p, (ppid, _, _) in _processes().items() if ppid == pid]


def descendants(pid: int) -> list[int]:
    table = _processes()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, (ppid, _, _) in table.items() if ppid == parent]
        found += children
        frontier += children
    return found


def running(pids: list[int]) -> list[int]:
    """Those of `pids` still running (a zombie has finished: it only waits to be reaped)."""
    table = _processes()
    return [p for p in pids if p in table and table[p][2] != "Z"]


def group_running(pgid: int) -> bool:
    return any(g == pgid and state != "Z" for _, g, state in _processes().values())


@pytest.fixture
def broker_prefix(settings: Settings) -> Iterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"hubtest-{uuid.uuid4().hex[:12]}:"
    yield prefix
    if settings.broker_url and settings.broker_url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(settings.broker_url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@pytest.fixture
def worker_settings(settings: Settings, broker_prefix: str) -> Settings:
    return load_settings(
        **{
            **settings.model_dump(exclude_defaults=True),
            **FAST_OUTBOX,
            "broker_key_prefix": broker_prefix,
        }
    )


@pytest.fixture
def outbox_runtime(worker_settings: Settings) -> Iterator[Runtime]:
    """The test process's runtime, on the same settings as its workers."""
    rt = Runtime(worker_settings)
    create_effects_table(rt.engine)
    yield rt
    rt.dispose()


@pytest.fixture
def hub_processes(tmp_path: Path) -> Iterator[Callable[..., HubProcess]]:
    """Starts `hub` subprocesses; every one of them (and its group) is killed at the end."""
    started: list[HubProcess] = []

    def start(
        argv: list[str], env: dict[str, str], name: str = "hub", *, forked: bool = False
    ) -> HubProcess:
        proc = HubProcess(argv, env, tmp_path / f"{name}-{len(started)}.log", forked=forked)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill_group(signal.SIGKILL)


@pytest.fixture
def start_worker(
    worker_settings: Settings, hub_processes: Callable[..., HubProcess]
) -> Callable[..., HubProcess]:
    """`start_worker("--beat")`: a real `hub worker` with the test handlers."""

    def start(*args: str, pool: str = "solo") -> HubProcess:
        argv = [HUB, "worker", "--include", HANDLERS, "--pool", pool, *args]
        return hub_processes(argv, settings_env(worker_settings), "worker", forked=True)

    return start


def queued_messages(runtime: Runtime, queue: str = DEFAULT_QUEUE) -> int:
    with Connection(runtime.celery.conf.broker_url, transport_options=_options(runtime)) as conn:
        # declaring is idempotent, and a passive declare fails on Redis for an empty queue
        return conn.default_channel.queue_declare(queue=queue).message_count


def declare_queues(runtime: Runtime) -> None:
    """Declare the hub's queues with their bindings, as a starting worker does."""
    with Connection(runtime.celery.conf.broker_url, transport_options=_options(runtime)) as conn:
        for queue in runtime.celery.amqp.queues.values():
            queue.bind(conn.default_channel).declare()


def purge_queue(runtime: Runtime) -> int:
    with Connection(runtime.celery.conf.broker_url, transport_options=_options(runtime)) as conn:
        return conn.default_channel.queue_purge(DEFAULT_QUEUE) or 0


def _options(runtime: Runtime) -> dict[str, Any]:
    return dict(runtime.celery.conf.broker_transport_options)
