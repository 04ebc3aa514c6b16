"""The `hub` command starts fast, loads a subcommand's code only to run it, and never warns
about its own imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.cli.lazy import first_paragraph
from hub.cli.main import COMMANDS
from hub.settings import Settings
from tests.support.cli import HUB, hub_env

# what the web application, the worker and the database layer bring in
HEAVY = ("hub.app", "fastapi", "starlette", "uvicorn", "celery", "sqlalchemy", "pydantic")
PROBE = """
import sys
from hub.cli.main import app
try:
    app(sys.argv[1:], prog_name="hub")
except SystemExit:
    pass
sys.stderr.write(" ".join(m for m in {heavy!r} if m in sys.modules))
"""
STARTUP_BOUND_SECONDS = 0.5


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "PYTHON"))}
    return {**env, "HUB_DATA_DIR": str(tmp_path), **extra}


def _loaded_by(tmp_path: Path, *args: str) -> set[str]:
    probe = PROBE.format(heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
        check=True,
    )
    return set(done.stderr.split())


def test_help_imports_no_subcommand_code(tmp_path: Path) -> None:
    assert _loaded_by(tmp_path, "--help") == set()
    # the probe sees a subcommand's imports when it is shown: it can fail
    assert "hub.app" in _loaded_by(tmp_path, "serve", "--help")


def test_a_command_loads_its_own_code_not_the_web_application(tmp_path: Path) -> None:
    loaded = _loaded_by(tmp_path, "audit", "--help")
    assert "sqlalchemy" in loaded
    assert not loaded & {"hub.app", "fastapi", "uvicorn"}


# what only `hub serve` and the API need
WEB = ("hub.app", "fastapi", "starlette", "uvicorn")
RUN_PROBE = """
import json, sys
from hub.cli.main import app
try:
    app(sys.argv[1:], prog_name="hub")
    code = 0
except SystemExit as exc:
    code = exc.code or 0
sys.stderr.write(json.dumps({{"code": code, "loaded": [m for m in {web!r} if m in sys.modules]}}))
"""


@pytest.mark.parametrize(
    "args",
    [["audit", "verify"], ["audit", "checkpoint"], ["orgs", "list"], ["deliveries", "list"]],
    ids=" ".join,
)
def test_a_command_that_serves_no_http_runs_without_the_web_framework(
    settings: Settings, args: list[str]
) -> None:
    # run to the end against a migrated database, not only imported: the models, the
    # lifecycle tables and the problems a service raises are loaded on the way
    done = subprocess.run(
        [sys.executable, "-c", RUN_PROBE.format(web=WEB), *args],
        capture_output=True,
        text=True,
        env=hub_env(settings),
        timeout=120,
        check=True,
    )
    outcome = json.loads(done.stderr.splitlines()[-1])
    assert outcome == {"code": 0, "loaded": []}, done.stderr


def _cpu_seconds(args: list[str], env: dict[str, str]) -> float:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0
    return usage.ru_utime + usage.ru_stime


def test_help_starts_fast(tmp_path: Path) -> None:
    # processor time, not wall time: the machine is shared, and waiting for a core is not
    # start-up; and the best of a few runs, as contention only ever adds to it
    best = min(_cpu_seconds([HUB, "--help"], _env(tmp_path)) for _ in range(5))
    assert best < STARTUP_BOUND_SECONDS, f"`hub --help` took {best:.2f} s at best"


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_the_listing_says_what_each_command_says(command: str) -> None:
    spec = next(c for c in COMMANDS if c.name == command)
    loaded = spec.load()
    assert loaded.name == command
    assert first_paragraph(loaded.help) == first_paragraph(spec.help)


# every command's help, in one fresh `hub` process with warnings made errors: each command runs
# as `hub <command> --help` would (`main()`, its own output and exit code). A warning raised
# while a module is imported fails the first command that imports it; one raised while a help
# is shown fails that command. One process instead of one per command: each of them spent a
# second or more of CPU importing the same modules again.
HELP_PROBE = """
import contextlib, io, json, sys, traceback
from hub.cli.main import main
shown = {}
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["hub", *args, "--help"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    shown[" ".join(args)] = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
sys.__stdout__.write(json.dumps(shown))
"""
HELP_ARGS = [[], *([c.name] for c in COMMANDS)]


@pytest.fixture(scope="module")
def helps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """`hub [command] --help` for every command: {"<command>": {code, stdout, stderr}}."""
    done = subprocess.run(
        [sys.executable, "-c", HELP_PROBE, json.dumps(HELP_ARGS)],
        capture_output=True,
        text=True,
        env=_env(tmp_path_factory.mktemp("helps"), PYTHONWARNINGS="error"),
        timeout=120,
        check=False,
    )
    # anything the process itself said (a warning at start or on the way out) fails them all
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    shown: dict[str, dict[str, object]] = json.loads(done.stdout)
    return shown


@pytest.mark.parametrize("args", HELP_ARGS, ids=lambda a: " ".join(a))
def test_no_command_warns(helps: dict[str, dict[str, object]], args: list[str]) -> None:
    # every subcommand's module is imported to show its help
    done = helps[" ".join(args)]
    assert done["code"] == 0, done["stderr"]
    assert "Usage: hub" in str(done["stdout"])
    assert done["stderr"] == ""
