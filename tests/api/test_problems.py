"""Errors are RFC 9457 problems with a stable code, and never echo what the client sent."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hub.runtime import Runtime
from tests.support.probe import CANARY, json_logs, probe_client

PROBLEM = "application/problem+json"


def _problem(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/" + code)
    assert body["title"]
    return body


def test_malformed_json_is_400(runtime: Runtime) -> None:
    response = probe_client(runtime).post(
        "/_probe/items/1",
        content=b'{"count": 1, "name": "' + CANARY.encode() + b'"',
        headers={"content-type": "application/json"},
    )
    _problem(response, 400, "malformed_json")
    assert CANARY not in response.text


def test_wrong_types_are_422_without_the_input(runtime: Runtime) -> None:
    response = probe_client(runtime).post(
        "/_probe/items/1", json={"count": CANARY, "name": ["not", "a", "string"]}
    )
    body = _problem(response, 422, "validation_error")
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "count"), ("body", "name")}
    assert CANARY not in response.text
    assert all(set(e) == {"loc", "msg", "type"} for e in body["errors"])


def test_a_missing_body_is_422(runtime: Runtime) -> None:
    response = probe_client(runtime).post("/_probe/items/1")
    _problem(response, 422, "validation_error")


def test_unknown_route_is_a_404_problem(runtime: Runtime) -> None:
    response = probe_client(runtime).get(f"/v1/nothing/here?x={CANARY}")
    body = _problem(response, 404, "not_found")
    assert body["instance"] == "/v1/nothing/here"
    assert CANARY not in response.text


def test_wrong_method_is_a_405_problem(runtime: Runtime) -> None:
    _problem(probe_client(runtime).delete("/healthz"), 405, "method_not_allowed")


def test_a_deadlock_victim_is_503_to_send_again_and_nothing_of_it_is_kept(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe_writes (note TEXT)"))
    client = probe_client(runtime)
    capsys.readouterr()
    response = client.post("/_probe/deadlock")
    body = _problem(response, 503, "temporarily_unavailable")
    assert response.headers["Retry-After"] == "1"
    assert "Idempotency-Key" in body["detail"]
    assert CANARY not in response.text
    logs = json_logs(capsys)
    assert CANARY not in repr(logs)
    assert [d["error_type"] for d in logs if d["level"] == "WARNING"] == ["OperationalError"]
    assert not [d for d in logs if d["level"] == "ERROR"]
    with runtime.engine.connect() as conn:  # the request's write was rolled back with it
        kept = conn.execute(text("SELECT count(*) FROM probe_writes")).scalar_one()
    assert kept == 0


@pytest.mark.parametrize("path", ["/_probe/boom", "/_probe/aboom"], ids=["sync", "async"])
def test_an_unhandled_error_is_500_without_its_message(
    runtime: Runtime, path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = probe_client(runtime)
    capsys.readouterr()
    response = client.get(path, params={"secret": CANARY})
    body = _problem(response, 500, "internal_error")
    assert set(body) == {"type", "title", "status", "code", "instance"}
    assert CANARY not in response.text
    request_id = response.headers["X-Request-ID"]
    logs = json_logs(capsys)
    assert CANARY not in repr(logs)
    errors = [d for d in logs if d["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["error_type"] in {"RuntimeError", "KeyError"}
    assert errors[0]["request_id"] == request_id
    access = [d for d in logs if d["logger"] == "hub.access"]
    assert [(d["status"], d["request_id"]) for d in access] == [(500, request_id)]
