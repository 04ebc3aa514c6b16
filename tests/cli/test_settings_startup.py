"""Invalid settings stop the real commands with exit code 2 and a message naming the variable."""

from __future__ import annotations

import socket
import subprocess

from hub.settings import Settings
from tests.support.cli import HUB, hub_env


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def test_an_invalid_setting_stops_start_up_naming_it(settings: Settings) -> None:
    cases = [
        (["serve", "--port", _free_port()], {"HUB_LOG_LEVEL": "LOUD", "HUB_MAX_BODY_BYTES": "-1"}),
        (["db", "upgrade"], {"HUB_OUTBOX_MAX_ATTEMPTS": "zero"}),
    ]
    # started together: each command's start-up (imports) is most of the time spent
    procs = [
        subprocess.Popen(
            [HUB, *args],
            env=hub_env(settings, **bad),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args, bad in cases
    ]
    for proc, (args, bad) in zip(procs, cases, strict=True):
        try:
            # a hub that started anyway would run on: the timeout makes that a failure
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            proc.kill()
        assert proc.returncode == 2, (args, stderr)
        for name, value in bad.items():
            assert name in stderr, (args, stderr)
            assert value not in stderr.replace(name, ""), stderr
        assert "Traceback" not in stderr
        assert stdout == ""
