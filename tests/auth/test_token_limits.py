"""Limits on client authentication: failures are counted per (claimed client, source address)
and per source, after authlib has parsed the credentials; nobody else's failures can refuse a
client its token.

Sources are told apart by the loopback address a request leaves from (127.0.0.1, 127.0.0.2...),
so the real server sees them as different peers.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.live_hub import TLS, Live

FORM = {"grant_type": "client_credentials"}
LIMIT = 3  # failures allowed per (client, source) in these tests


@pytest.fixture
def limited(start_live: Any) -> Live:
    return start_live(token_rate_limit=f"{LIMIT}/minute")


@pytest.fixture
def from_address() -> Iterator[Any]:
    opened: list[httpx.Client] = []

    def make(address: str) -> httpx.Client:
        http = httpx.Client(
            verify=TLS, timeout=10, transport=httpx.HTTPTransport(local_address=address)
        )
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()


def _guess(http: httpx.Client, live: Live, client_id: str, secret: str = "wrong") -> int:
    return http.post(live.token_url, data=FORM, auth=(client_id, secret)).status_code


def test_another_partys_failures_never_refuse_the_right_secret(
    limited: Live, from_address: Any
) -> None:
    victim_id, victim_secret, _ = limited.client()
    attacker = from_address("127.0.0.2")
    # the client id is known to the other party: 31 wrong guesses under it
    codes = [_guess(attacker, limited, victim_id) for _ in range(31)]
    assert codes[:LIMIT] == [401] * LIMIT
    assert set(codes[LIMIT:]) == {429}
    # the victim, from its own address, still gets its token
    victim = from_address("127.0.0.1")
    assert _guess(victim, limited, victim_id, victim_secret or "") == 200
    # and a mistake of its own is a plain 401, not a lock-out the attacker caused
    assert _guess(victim, limited, victim_id) == 401
    assert _guess(victim, limited, victim_id, victim_secret or "") == 200


def test_a_source_over_its_failure_limit_is_refused_before_any_check(
    limited: Live, from_address: Any
) -> None:
    client_id, secret, _ = limited.client()
    sprayer = from_address("127.0.0.3")
    # made-up client ids, each guessed once: the per-source limit catches the spray
    codes = [_guess(sprayer, limited, f"made-up-{i}") for i in range(LIMIT * 4 + 2)]
    assert codes[-1] == 429
    refused = sprayer.post(limited.token_url, data=FORM, auth=(client_id, secret or ""))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"] == "temporarily_unavailable"
    assert refused.headers["Cache-Control"] == "no-store"
    # another source is not affected
    assert _guess(from_address("127.0.0.4"), limited, client_id, secret or "") == 200


def test_credentials_are_read_by_one_parser_so_no_header_shape_escapes_the_count(
    limited: Live, from_address: Any
) -> None:
    client_id, _, _ = limited.client()
    http = from_address("127.0.0.5")
    two_spaces = "Basic  " + base64.b64encode(f"{client_id}:wrong".encode()).decode()
    for _ in range(LIMIT):
        response = http.post(limited.token_url, data=FORM, headers={"Authorization": two_spaces})
        assert response.status_code == 401  # authlib reads it: it is a real guess
    # counted under that client from that source, whatever the header looked like
    assert _guess(http, limited, client_id) == 429
    posted = http.post(
        limited.token_url, data={**FORM, "client_id": client_id, "client_secret": "wrong"}
    )
    assert posted.status_code == 429


def test_guessing_through_introspection_is_limited_too(limited: Live, from_address: Any) -> None:
    client_id, secret, _ = limited.client()
    http = from_address("127.0.0.6")
    url = limited.url("/oauth/introspect")
    codes = [
        http.post(url, data={"token": "x"}, auth=(client_id, "wrong")).status_code
        for _ in range(LIMIT + 1)
    ]
    assert codes == [401] * LIMIT + [429]
    # the same counter as the token endpoint: the secret is the same secret
    assert _guess(http, limited, client_id) == 429
    assert _guess(from_address("127.0.0.7"), limited, client_id, secret or "") == 200


def test_successful_requests_have_their_own_generous_limit(
    limited: Live, from_address: Any
) -> None:
    client_id, secret, _ = limited.client()
    http = from_address("127.0.0.8")
    codes = [_guess(http, limited, client_id, secret or "") for _ in range(LIMIT * 10 + 1)]
    assert codes[: LIMIT * 10] == [200] * (LIMIT * 10)
    assert codes[-1] == 429
