"""The body size limit: by Content-Length up front, by counting when there is none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from tests.support.probe import probe_client

LIMIT = 4096


@pytest.fixture
def small_runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(load_settings(**{**settings.model_dump(), "max_body_bytes": LIMIT}))
    yield rt
    rt.dispose()


def _assert_too_large(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"
    assert response.headers["X-Request-ID"]


def test_a_body_at_the_limit_passes(small_runtime: Runtime) -> None:
    response = probe_client(small_runtime).post("/_probe/raw", content=b"x" * LIMIT)
    assert response.status_code == 200
    assert response.json() == {"size": LIMIT}


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    small_runtime: Runtime,
) -> None:
    client = probe_client(small_runtime)
    _assert_too_large(client.post("/_probe/raw", content=b"x" * (LIMIT + 1)))
    _assert_too_large(client.post("/_probe/ignore", content=b"x" * (LIMIT + 1)))


def test_a_streamed_body_without_length_is_counted(small_runtime: Runtime) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b"y" * 1000

    response = probe_client(small_runtime).post("/_probe/raw", content=chunks())
    _assert_too_large(response)


def test_a_streamed_json_body_is_counted_for_a_validated_route(small_runtime: Runtime) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"count": 1, "name": "'
        for _ in range(8):
            yield b"z" * 1000
        yield b'"}'

    response = probe_client(small_runtime).post(
        "/_probe/items/1", content=chunks(), headers={"content-type": "application/json"}
    )
    _assert_too_large(response)


def test_the_limit_comes_from_the_setting(runtime: Runtime) -> None:
    # the default limit (1 MiB) lets the same body through
    response = probe_client(runtime).post("/_probe/raw", content=b"x" * (LIMIT + 1))
    assert response.status_code == 200
