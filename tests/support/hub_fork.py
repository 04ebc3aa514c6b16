"""A process that has imported the `hub` command once and forks a child for each command a test
runs (`tests.support.cli.run_hub`).

Each `hub` process started with exec spends a second or two of CPU importing the hub before it
does a thing, and the suite runs dozens of them. A child forked from here starts with those
modules imported and nothing else: no command has run in this process, no settings, database,
logging or clock were touched. The child is a process of its own, as an exec'd one is: the
test's environment (exactly, `os.environ` is replaced) and working folder, stdin, stdout and
stderr as files, the command's exit code (or the signal that killed it), killed at the timeout.

What an exec'd `hub` does before its first line of Python runs cannot happen here: reading
`PYTHON*` variables, and the imports themselves (tests/cli/test_main.py watches those, with
exec). `run_hub` execs for an environment naming such a variable, and for every command with
HUB_TEST_CLI_EXEC=1.

Protocol, on a socket pair: the test sends one JSON line per command; this process answers with
a line `{"pid": ...}` once the child is forked and `{"status": ...}` (as `os.waitpid`) once it
has ended. A long-lived command (a request naming a `status` file: `tests.support.workers`'
`hub worker`) runs in a process group of its own and is not waited for: its pid is the only
answer, and its status is written to that file when it ends, so other commands run meanwhile.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import random
import signal
import socket
import sys
import threading
import traceback
from typing import Any

PR_SET_PDEATHSIG = 1
# imported once here; each of them only defines things (tests/cli/test_main.py)
PRELOAD = ("hub.cli.main", "hub.cli.context", "hub.runtime")


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _run_command(request: dict[str, Any]) -> None:
    """In the forked child: become the `hub` process the request describes, run it, exit."""
    code = 1
    try:
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        if request.get("status"):
            # a process group of its own (the server sets it too, so that it is in place by
            # the time the test hears the pid: a signal to the group reaches it)
            os.setpgid(0, 0)
        streams = (
            (request["stdin"], os.O_RDONLY),
            (request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            (request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        )
        for fd, (path, flags) in enumerate(streams):
            if path is None:  # stderr into stdout, as subprocess.STDOUT
                os.dup2(1, fd)
                continue
            opened = os.open(path, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        random.seed()  # the module's state would be the same in every child
        sys.argv = list(request["argv"])
        from hub.cli.main import main

        try:
            main()
            code = 0
        except SystemExit as done:
            if done.code is None:
                code = 0
            elif isinstance(done.code, int):
                code = done.code
            else:
                print(done.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        # what the interpreter does on its way out
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
        with contextlib.suppress(BaseException):
            sys.stderr.flush()
        os._exit(code & 0xFF)


# the long-lived children not waited for: pid -> the file their status goes to
_DETACHED: dict[int, str] = {}


def _reap_detached(_signum: int, _frame: object) -> None:
    """SIGCHLD: the long-lived children that ended are reaped and their status written (the
    others are waited for by the loop itself)."""
    for pid, path in list(_DETACHED.items()):
        try:
            ended, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            ended, status = pid, 0
        if ended:
            del _DETACHED[pid]
            with open(path + ".part", "w", encoding="utf-8") as f:
                f.write(str(status))
            os.replace(path + ".part", path)


def serve(fd: int) -> None:
    """The fork server's loop, on the socket `fd` (until the test process closes it)."""
    _die_with_parent()
    for name in PRELOAD:
        __import__(name)
    signal.signal(signal.SIGCHLD, _reap_detached)
    channel = socket.socket(fileno=fd)
    reader = channel.makefile("rb")
    for line in reader:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            reader.close()
            channel.close()
            _die_with_parent()
            _run_command(request)
        if request.get("status"):
            with contextlib.suppress(OSError):  # it may have set it, or ended, already
                os.setpgid(pid, pid)
            _DETACHED[pid] = request["status"]
            _reap_detached(signal.SIGCHLD, None)  # it may have ended before it was listed
            channel.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            continue
        channel.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        channel.sendall(json.dumps({"status": status}).encode() + b"\n")


if __name__ == "__main__":
    serve(int(sys.argv[1]))
