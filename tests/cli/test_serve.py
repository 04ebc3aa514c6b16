"""`hub serve --demo` as a newcomer runs it: in an 80-column terminal, on a fresh data folder.

Every client id and secret it prints can be copied whole from one line and gets a token from
the running hub at the URL it printed, which is also the URL the hub names itself by (no
HUB_PUBLIC_URL is set); its log (stderr) is JSON lines only, the embedded worker's included;
Ctrl-C stops the server and its worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.terminal import Terminal
from tests.support.workers import HUB, REPO, descendants, running, wait_for

pytestmark = pytest.mark.worker

START_SECONDS = 180.0
STOP_SECONDS = 60.0
# the demo organisations (hub.demo.seed.ORGS)
ORGANISATIONS = 5
LAST_LINE = "sign-in; a referral waits for review)"
FIELD = re.compile(r"^\s+(id|client_id|client_secret|email|password):\s+(\S+)$")
URL = re.compile(r"https?://[^\s'\"]+")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, tmp_path: Path) -> None:
        self.port = _free_port()
        self.terminal = Terminal(columns=80)
        self.log_path = tmp_path / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env["HUB_DATA_DIR"] = str(tmp_path / "data")
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [HUB, "serve", "--demo", "--port", str(self.port)],
                env=env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=self.terminal.slave,
                stderr=log,
                start_new_session=True,
            )
        self.terminal.handed_over()

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def kill(self) -> None:
        for pid in [self.proc.pid, *descendants(self.proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_SECONDS)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    hub = Served(tmp_path)
    try:
        yield hub
    finally:
        if hub.proc.poll() is None:
            hub.kill()
        hub.terminal.close()


def _fields(printed: str) -> list[tuple[str, str]]:
    return [m.groups() for m in map(FIELD.match, printed.splitlines()) if m]  # type: ignore[misc]


def _ready(served: Served) -> bool:
    # the worker logs this once it is consuming: any banner would be out by then
    for line in served.log_lines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("logger") == "celery.apps.worker" and record["message"].endswith("ready."):
            return True
    return False


def test_serve_demo_prints_credentials_that_copy_whole_and_work(served: Served) -> None:
    printed = served.terminal.read_until(lambda text: LAST_LINE in text, timeout=START_SECONDS)
    fields = _fields(printed)
    client_ids = [value for name, value in fields if name == "client_id"]
    secrets = [value for name, value in fields if name == "client_secret"]
    assert len(client_ids) == len(secrets) == ORGANISATIONS, printed

    urls = URL.findall(printed)
    assert urls, printed
    assert {urlsplit(url).port for url in urls} == {served.port}, urls
    token_url = next(url for url in urls if url.endswith("/oauth/token"))
    directory_url = next(url for url in urls if url.endswith("/v1/organizations"))

    wait_for(lambda: _ready(served), "the embedded worker to be ready", timeout=START_SECONDS)
    with httpx.Client(timeout=30) as http:
        for client_id, secret in zip(client_ids, secrets, strict=True):
            answer = http.post(
                token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            )
            assert answer.status_code == 200, (client_id, answer.text)
            token = answer.json()["access_token"]
            listed = http.get(directory_url, headers={"Authorization": f"Bearer {token}"})
            assert listed.status_code == 200, listed.text
        # no HUB_PUBLIC_URL: the hub names itself at the address it listens at, not port 8000
        base = f"http://127.0.0.1:{served.port}"
        metadata = http.get(f"{base}/.well-known/oauth-authorization-server").json()
        assert metadata["issuer"] == base
        assert metadata["token_endpoint"] == token_url

    # Ctrl-C, as the person who started it would
    workers = descendants(served.proc.pid)
    assert workers, "no embedded worker"
    served.proc.send_signal(signal.SIGINT)
    assert served.proc.wait(timeout=STOP_SECONDS) == 0
    wait_for(lambda: not running(workers), "the embedded worker to stop", timeout=STOP_SECONDS)

    # the terminal shows the credentials block and nothing else; the log is JSON lines only
    rest = served.terminal.read_until(lambda _: False, timeout=STOP_SECONDS)
    assert rest.rstrip().endswith(LAST_LINE), rest
    assert "celery" not in rest.lower()
    lines = served.log_lines()
    assert lines
    for line in lines:
        record = json.loads(line)
        assert {"level", "logger", "message"} <= set(record), line
    assert not any(secret in "\n".join(lines) for secret in secrets)
