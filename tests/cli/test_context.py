"""What every command shares: a fresh data folder is met with advice, not a traceback; the
runtime `hub serve` builds names the hub by the address it listens at."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hub.cli.context import runtime
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


def test_the_public_url_is_where_the_hub_is_served_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("HUB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    served = runtime(served_at="http://127.0.0.1:8123")
    assert served.settings.public_url == "http://127.0.0.1:8123"
    served.dispose()
    other = runtime()  # any other command: the default
    assert other.settings.public_url == "http://127.0.0.1:8000"
    other.dispose()

    monkeypatch.setenv("HUB_PUBLIC_URL", "https://hub.example.org")
    explicit = runtime(served_at="http://127.0.0.1:8123")
    assert explicit.settings.public_url == "https://hub.example.org"
    explicit.dispose()
