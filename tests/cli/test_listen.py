"""The URL printed for where `hub serve` listens is one a person here can open."""

from __future__ import annotations

import pytest

from hub.cli.listen import base_url


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8000, "http://127.0.0.1:8000"),
        ("0.0.0.0", 8123, "http://127.0.0.1:8123"),
        ("::", 9000, "http://[::1]:9000"),
        ("::1", 9001, "http://[::1]:9001"),
        ("hub.internal", 80, "http://hub.internal:80"),
    ],
)
def test_base_url(host: str, port: int, url: str) -> None:
    assert base_url(host, port) == url


def test_the_default_is_where_hub_serve_listens_by_default() -> None:
    assert base_url() == "http://127.0.0.1:8000"
