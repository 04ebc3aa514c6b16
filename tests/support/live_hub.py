"""The real app served by uvicorn on 127.0.0.1, with a test-only protected route mounted: the
fixtures of the OAuth server's tests (tests/auth) and of the request's principal (tests/access).

A pytest plugin (registered in tests/conftest.py): `start_live`, `live` and `move_clock` serve
every test that asks for them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy.orm import Session

from hub.access.deps import CurrentPrincipal, Principal, require_scope
from hub.app import bind, build
from hub.auth.clients import create_client
from hub.auth.scopes import OPERATOR_KIND
from hub.auth.server import Authority, get_authority
from hub.clock import clock
from hub.organizations import service as organizations
from hub.runtime import Runtime
from hub.settings import Settings
from tests.support.factories import org
from tests.support.servers import PromptServer

# made once: building a TLS context costs ~0.2 s, and every client would build its own
TLS = httpx.create_ssl_context()

# mounted in these tests only: the real /v1 routes are someone else's
probe = APIRouter(prefix="/v1/_probe")


@probe.get("")
def read_probe(
    principal: Annotated[Principal, Depends(require_scope("cases:read"))],
) -> dict[str, Any]:
    return {
        "client_id": principal.client_id,
        "organization_id": principal.organization_id,
        "scopes": list(principal.scopes),
    }


@probe.get("/any")
def any_probe(principal: CurrentPrincipal) -> dict[str, str]:
    return {"client_id": principal.client_id}


@dataclass
class Live:
    base_url: str
    runtime: Runtime
    app: FastAPI
    http: httpx.Client

    @property
    def token_url(self) -> str:
        return self.base_url + "/oauth/token"

    @property
    def authority(self) -> Authority:
        return get_authority(self.app)

    def url(self, path: str) -> str:
        return self.base_url + path

    def organization(self, name: str) -> str:
        with self.runtime.sessions.begin() as db:
            return org(db, self.runtime.policy, name).id

    def operator(self) -> str:
        """The hub's operator organisation (made once per hub)."""
        with self.runtime.sessions.begin() as db:
            found = organizations.get_all(db=db, with_operator=True)
            ops = [o.id for o in found if o.kind == OPERATOR_KIND]
            if ops:
                return ops[0]
            return organizations.create_operator(db=db, actor="test", name="Hub operations").id

    def client(
        self,
        scope: str = "cases:read referrals:read",
        *,
        organization_id: str | None = None,
        jwks: dict[str, Any] | None = None,
    ) -> tuple[str, str | None, str]:
        """A registered client: (client_id, secret or None, organisation id)."""
        if organization_id is None and scope == "admin":
            organization_id = self.operator()
        org_id = organization_id or self.organization(f"Org {time.monotonic_ns()}")
        with self.runtime.sessions.begin() as db:
            client, secret = create_client(
                db=db, organization_id=org_id, scope=scope, name="test", jwks=jwks
            )
            return client.client_id, secret, org_id

    def session(self) -> Session:
        return self.runtime.sessions()


@pytest.fixture(scope="session")
def _probe_app() -> FastAPI:
    """The process's one app with the probe mounted (`build`, as tests/conftest.py's `_app`):
    each test binds its runtime to it. With an app built per test, the first request to each
    router worked out its parameters and models again: 1.8 s for the first call of a test on a
    quiet machine, over 6 s on a loaded one, past the OAuth client's 5 s timeout."""
    app = build()
    app.include_router(probe)
    return app


@pytest.fixture
def start_live(settings: Settings, _probe_app: FastAPI) -> Iterator[Callable[..., Live]]:
    """Start the hub on a free port; keyword arguments override settings."""
    started: list[tuple[uvicorn.Server, threading.Thread, Runtime]] = []
    clients: list[httpx.Client] = []

    def start(**overrides: Any) -> Live:
        # bound first: the issuer URL must name the port
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        live_settings = settings.model_copy(
            update={"public_url": f"http://127.0.0.1:{port}", **overrides}
        )
        runtime = Runtime(live_settings)
        if started:
            # a second hub in the same test serves another runtime: an app of its own
            app = build()
            app.include_router(probe)
        else:
            app = _probe_app
        bind(app, runtime)
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        server = PromptServer(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        started.append((server, thread, runtime))
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        http = httpx.Client(verify=TLS, timeout=10)
        clients.append(http)
        return Live(base_url=f"http://127.0.0.1:{port}", runtime=runtime, app=app, http=http)

    yield start
    for http in clients:
        http.close()
    for server, thread, runtime in started:
        server.should_exit = True
        thread.join(timeout=10)
        runtime.dispose()


@pytest.fixture
def live(start_live: Callable[..., Live]) -> Live:
    return start_live()


@pytest.fixture
def move_clock() -> Iterator[Callable[[timedelta], None]]:
    """Advance the hub's clock; put back after the test."""
    moved: list[timedelta] = []

    def move(delta: timedelta) -> None:
        clock.advance(delta)
        moved.append(delta)

    yield move
    for delta in moved:
        clock.advance(-delta)
