"""A partner's webhook endpoint served on 127.0.0.1 for tests: it records what arrives.

`down()` closes the listening socket (connections are refused, as with a partner that is
down) and `up()` listens again on the same port. `answer` sets the status it replies with;
`hold` makes it wait before answering (a worker can then be killed mid-delivery).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.servers import serve_forever


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float  # time.time() when it arrived

    @property
    def delivery_id(self) -> str:
        return self.headers.get("hub-delivery-id", "")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class WebhookReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answer = 204
        self.retry_after: str | None = None  # a Retry-After header to answer with
        self.hold = threading.Event()
        self.hold.set()  # set: answer at once; clear: wait until set again
        self.arrived = threading.Event()  # set on every arrival
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- the endpoint -------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                item = Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    at=time.time(),
                )
                with receiver._lock:
                    receiver.received.append(item)
                receiver.arrived.set()
                receiver.hold.wait(timeout=120)
                self.send_response(receiver.answer)
                if receiver.retry_after is not None:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def up(self) -> None:
        server = _Server(("127.0.0.1", self.port), self._handler())
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=serve_forever, args=(server,), daemon=True)
        self._thread.start()

    def down(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/referrals"

    def __enter__(self) -> WebhookReceiver:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.set()
        self.down()

    # -- what arrived ---------------------------------------------------------------------
    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def counts(self) -> dict[str, int]:
        """Requests received, distinct delivery ids, and duplicates (the same id again)."""
        ids = Counter(item.delivery_id for item in self.snapshot())
        total = sum(ids.values())
        return {"received": total, "unique": len(ids), "duplicates": total - len(ids)}

    def ids(self) -> set[str]:
        return {item.delivery_id for item in self.snapshot()}


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound then released)."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
