"""`hub serve --workers 2`: two server processes that count as one hub — the limits on client
authentication and the request metrics are shared, not multiplied or split."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from hub.settings import Settings
from tests.support.workers import HUB, HubProcess, descendants, settings_env, wait_for

pytestmark = pytest.mark.worker

LIMIT = 3
REQUESTS = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_processes(pid: int) -> list[int]:
    # uvicorn starts its server processes with multiprocessing's spawn
    found = []
    for child in descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.spawn" in cmdline:
            found.append(child)
    return found


def _get(url: str) -> httpx.Response:
    # a connection per request, so the kernel may hand each to either process
    with httpx.Client(timeout=30) as http:
        return http.get(url)


def _counted(metrics: str) -> float:
    pattern = r'^hub_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$'
    match = re.search(pattern, metrics, flags=re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_two_server_processes_share_limits_and_metrics(
    settings: Settings, hub_processes: Callable[..., HubProcess]
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = settings_env(settings, HUB_TOKEN_RATE_LIMIT=f"{LIMIT}/minute", HUB_PUBLIC_URL=base)
    serve = hub_processes(
        [HUB, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env,
        "serve",
    )
    wait_for(lambda: len(_server_processes(serve.pid)) == 2, "two server processes", watch=serve)

    def ready() -> bool:
        try:
            return _get(f"{base}/readyz").status_code == 200
        except httpx.TransportError:
            return False

    wait_for(ready, "/readyz", watch=serve)

    for _ in range(REQUESTS):
        assert _get(f"{base}/healthz").status_code == 200
    # whichever process answers the scrape counts every process's requests
    for _ in range(6):
        assert _counted(_get(f"{base}/metrics").text) == REQUESTS

    # a guessed secret: refused LIMIT times, then told to wait, whichever process answers
    statuses = []
    for _ in range(LIMIT + 3):
        with httpx.Client(timeout=30) as http:
            answer = http.post(
                f"{base}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=("someone-elses-client", "a-wrong-secret"),
            )
        statuses.append(answer.status_code)
    assert statuses == [401] * LIMIT + [429] * 3
