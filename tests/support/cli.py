"""Running the real `hub` command as a subprocess against a test's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hub.settings import Settings

HUB = str(Path(sys.executable).with_name("hub"))


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
    return subprocess.run(
        [HUB, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=hub_env(settings, **env),
        timeout=timeout,
        check=False,
    )
