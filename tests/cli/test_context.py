"""What every command shares: a fresh data folder is met with advice, not a traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import HUB

ADVICE = "the database is not at the current schema: run `hub db upgrade`\n"


@pytest.mark.parametrize(
    "args",
    [
        ["orgs", "list"],
        ["audit", "verify"],
        ["audit", "checkpoint"],
        ["keys", "rotate"],
        ["keys", "retire"],
    ],
    ids=" ".join,
)
def test_a_command_before_any_migration_says_what_to_run(tmp_path: Path, args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATA_DIR"] = str(tmp_path)  # the embedded database, never created
    done = subprocess.run([HUB, *args], capture_output=True, text=True, env=env, timeout=60)
    assert (done.returncode, done.stderr) == (1, ADVICE)


def test_after_the_migration_the_command_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATA_DIR"] = str(tmp_path)

    upgraded = subprocess.run([HUB, "db", "upgrade"], env=env, capture_output=True, timeout=120)
    assert upgraded.returncode == 0
    again = subprocess.run([HUB, "orgs", "list"], env=env, capture_output=True, timeout=60)
    assert again.returncode == 0, again.stderr
