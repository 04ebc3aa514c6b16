"""The worker `hub serve` runs beside the API on the embedded default.

A child process (`python -m hub.cli.worker --beat --pool solo`, that is `hub worker`) in its own
process group, with the server's environment and so the same `HUB_` settings. It is restarted
if it dies, and stopped with the server: the whole group gets SIGTERM (a warm shutdown), then
SIGKILL if it lingers. Should the server itself be killed, the worker notices its parent is
gone and stops.

Its output is the hub's JSON log lines: the worker logs to stderr through the hub's handler
(Celery's shutdown notice included, `hub.cli.worker`), and whatever else reaches its stdout
is read here and logged as records of the server's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

log = logging.getLogger("hub.worker")
# what the worker wrote to its stdout, as the server logs it
stdout_log = logging.getLogger("hub.worker.stdout")

STOP_TIMEOUT_SECONDS = 15.0
RESTART_DELAY_SECONDS = 1.0
MAX_RESTART_DELAY_SECONDS = 60.0
WATCH_SECONDS = 1.0


def worker_command() -> list[str]:
    return [
        sys.executable,
        "-m",
        # the worker command alone, without importing the rest of the CLI: it starts faster
        "hub.cli.worker",
        "--beat",
        "--pool",
        "solo",
        f"--parent-pid={os.getpid()}",
    ]


class EmbeddedWorker:
    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stop_timeout: float = STOP_TIMEOUT_SECONDS,
    ) -> None:
        self._env = dict(os.environ if env is None else env)
        self._cwd = cwd
        self._stop_timeout = stop_timeout
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._watcher: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        with self._lock:
            self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="embedded-worker", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        # a session of its own: the terminal's Ctrl-C reaches the server only (which then
        # stops the worker), and the worker's own children can be signalled as one group
        self._proc = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            worker_command(),
            env=self._env,
            cwd=self._cwd,
            start_new_session=True,
            stdout=subprocess.PIPE,
        )
        assert self._proc.stdout is not None  # asked for above
        threading.Thread(
            target=_log_lines,
            args=(self._proc.stdout,),
            name=f"embedded-worker-stdout-{self._proc.pid}",
            daemon=True,
        ).start()
        log.info("embedded worker started (pid %d)", self._proc.pid)

    def _watch(self) -> None:
        delay = RESTART_DELAY_SECONDS
        while not self._stopping.wait(WATCH_SECONDS):
            with self._lock:
                proc = self._proc
                if self._stopping.is_set() or proc is None or proc.poll() is None:
                    delay = RESTART_DELAY_SECONDS
                    continue
                log.error("embedded worker exited with status %s; restarting", proc.returncode)
                _signal_group(proc.pid, signal.SIGKILL)  # leftovers of the dead one
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, MAX_RESTART_DELAY_SECONDS)
            with self._lock:
                if not self._stopping.is_set():
                    self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=self._stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("embedded worker did not stop in time; killed")
            # also whatever it started (the embedded scheduler) and did not stop itself
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=WATCH_SECONDS * 2)


def _log_lines(stream: IO[bytes]) -> None:
    # read until the worker and its children are gone (end of file), so a full pipe never
    # blocks a worker that writes
    with stream:
        for raw in stream:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                stdout_log.info(line)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def stop_with_parent(parent: int) -> None:
    """In the worker: stop when the process that started it (`parent`) is gone.

    A warm shutdown first; a SIGTERM that lands while Celery is still starting can be lost,
    so it is sent again, and after the stop timeout the whole group is killed (the outbox
    lease brings back whatever was interrupted).
    """

    def watch() -> None:
        tick = threading.Event()
        while not tick.wait(WATCH_SECONDS):
            if os.getppid() != parent:
                break
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            os.kill(os.getpid(), signal.SIGTERM)
            tick.wait(WATCH_SECONDS * 3)
        os.killpg(os.getpgid(0), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
