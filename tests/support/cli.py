"""Running the real `hub` command as a subprocess against a test's settings.

`run_hub` forks each command from a process that imported the hub once (tests/support/
hub_fork.py says what that keeps and what it cannot): a process of its own with the test's
environment, its output and its exit code, without a second or two of imports each time. It
execs `hub` instead when a `PYTHON*` variable (read before any Python runs; PYTHONPATH aside,
the hub is imported already) differs from the test process's, and for every command with
HUB_TEST_CLI_EXEC=1. Tests of what happens before a command runs (its imports) exec `HUB`.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from hub.settings import Settings

HUB = str(Path(sys.executable).with_name("hub"))
REPO = Path(__file__).resolve().parents[2]
EXEC = os.environ.get("HUB_TEST_CLI_EXEC", "") not in ("", "0")


def hub_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATA_DIR"] = str(settings.data_dir)
    env["HUB_DATABASE_URL"] = settings.sqlalchemy_url
    if settings.broker_url:
        env["HUB_BROKER_URL"] = settings.broker_url
    env.update(extra)
    return env


def run_hub(
    settings: Settings, *args: str, stdin: str | None = None, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    return run_command(list(args), hub_env(settings, **env), stdin=stdin, timeout=timeout)


def run_command(
    args: list[str], env: dict[str, str], *, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`hub <args>` with exactly the environment `env`, as `subprocess.run(text=True)` would."""
    if not forkable(env):
        return subprocess.run(
            [HUB, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    return _fork_server().run([HUB, *args], env, stdin, timeout)


def _python_variables(env: Mapping[str, str]) -> dict[str, str]:
    """What the interpreter reads before it runs any Python (the fork server has read its own)."""
    return {k: v for k, v in env.items() if k.startswith("PYTHON") and k != "PYTHONPATH"}


class ForkServer:
    """The client of tests/support/hub_fork.py: one per test process, started when first used."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.hub_fork", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        theirs.close()
        self._channel = ours
        self._answers: IO[bytes] = ours.makefile("rb")

    def _answer(self, deadline: float | None) -> dict[str, int]:
        self._channel.settimeout(None if deadline is None else max(deadline - time.monotonic(), 0))
        line = self._answers.readline()
        if not line:
            raise RuntimeError(f"the hub's fork server ended (exit {self._proc.poll()})")
        return json.loads(line)

    def run(
        self, argv: list[str], env: dict[str, str], stdin: str | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="hub-command-") as folder:
            files = {name: os.path.join(folder, name) for name in ("stdout", "stderr")}
            files["stdin"] = os.devnull
            if stdin is not None:
                files["stdin"] = os.path.join(folder, "stdin")
                Path(files["stdin"]).write_text(stdin)
            request = {"argv": argv, "env": env, "cwd": os.getcwd(), **files}
            self._channel.sendall(json.dumps(request).encode() + b"\n")
            pid = self._answer(None)["pid"]
            try:
                status = self._answer(time.monotonic() + timeout)["status"]
            except TimeoutError:
                # the channel cannot be read after a timeout: this server goes, the next starts
                os.kill(pid, signal.SIGKILL)
                _forget(self)
                raise subprocess.TimeoutExpired(argv, timeout) from None
            # as subprocess.run(text=True) reads them: the locale's encoding, universal newlines
            out, err = (Path(files[name]).read_text() for name in ("stdout", "stderr"))
        return subprocess.CompletedProcess(argv, os.waitstatus_to_exitcode(status), out, err)

    def start(
        self, argv: list[str], env: dict[str, str], log_path: Path, status_path: Path
    ) -> ForkedProcess:
        """A long-lived `hub` command in a process group of its own, its stdout and stderr in
        `log_path`; its status is written to `status_path` when it ends."""
        request = {
            "argv": argv,
            "env": env,
            "cwd": str(REPO),
            "stdin": os.devnull,
            "stdout": str(log_path),
            "stderr": None,
            "status": str(status_path),
        }
        self._channel.sendall(json.dumps(request).encode() + b"\n")
        return ForkedProcess(argv, self._answer(None)["pid"], status_path)

    def close(self) -> None:
        """Ends the server: it stops when its channel closes (its children die with it)."""
        self._answers.close()
        self._channel.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


class ForkedProcess:
    """What a test asks of a `subprocess.Popen` (poll, wait, send_signal, returncode), for a
    command the fork server started and reaps: its status comes back through a file."""

    def __init__(self, args: list[str], pid: int, status_path: Path) -> None:
        self.args = args
        self.pid = pid
        self.returncode: int | None = None
        self._status_path = status_path

    def poll(self) -> int | None:
        if self.returncode is None and self._status_path.exists():
            status = int(self._status_path.read_text(encoding="utf-8"))
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            time.sleep(0.02)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)


def forkable(env: Mapping[str, str]) -> bool:
    """Whether a command with exactly this environment may be forked from the fork server."""
    return not EXEC and _python_variables(env) == _python_variables(os.environ)


def start_forked(argv: list[str], env: dict[str, str], log_path: Path) -> ForkedProcess:
    """`hub <argv[1:]>` forked and left running (`tests.support.workers` for `hub worker`)."""
    status_path = log_path.with_name(log_path.name + ".status")
    log_path.touch()  # there to be read from the start, as a Popen's output file is
    return _fork_server().start(argv, env, log_path, status_path)


_server: ForkServer | None = None


def _fork_server() -> ForkServer:
    global _server
    if _server is None:
        _server = ForkServer()
    return _server


def _forget(server: ForkServer) -> None:
    global _server
    if _server is server:
        _server = None
    server.close()


@atexit.register
def _close() -> None:
    if _server is not None:
        _forget(_server)
