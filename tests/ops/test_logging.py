"""JSON logs: one object per line, the request id in each, nothing from the request's content."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from hub.ops.logging import JsonFormatter, configure_logging, request_id_var
from hub.runtime import Runtime
from tests.support.probe import CANARY, json_logs, probe_client


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("hub.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    record.__dict__.update(extra)
    return record


def test_formatter_keeps_whitelisted_fields_and_drops_the_rest() -> None:
    doc = json.loads(
        JsonFormatter().format(_record(route="/v1/cases/{case_id}", status=201, name_of=CANARY))
    )
    assert doc["message"] == "hello world"
    assert doc["level"] == "INFO"
    assert doc["logger"] == "hub.test"
    assert doc["route"] == "/v1/cases/{case_id}"
    assert doc["status"] == 201
    assert "time" in doc and "request_id" in doc
    assert CANARY not in json.dumps(doc, ensure_ascii=False)


def test_formatter_reduces_an_exception_to_its_type_and_frames() -> None:
    try:
        raise ValueError(f"bad value {CANARY}")
    except ValueError:
        record = logging.LogRecord(
            "hub.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    doc = json.loads(line)
    assert doc["error_type"] == "ValueError"
    assert any("test_formatter_reduces_an_exception" in frame for frame in doc["stack"])
    assert CANARY not in line


def test_formatter_reads_the_request_id_from_the_context() -> None:
    token = request_id_var.set("req-42")
    try:
        doc = json.loads(JsonFormatter().format(_record()))
    finally:
        request_id_var.reset(token)
    assert doc["request_id"] == "req-42"


def test_configure_twice_keeps_one_handler_and_routes_uvicorn(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    configure_logging("INFO")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_hub_json_handler", False)]
    assert len(ours) == 1
    capsys.readouterr()
    logging.getLogger("uvicorn.error").error("Uvicorn says hi")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /x?name=%s HTTP/1.1" 200', CANARY)
    logging.getLogger("httpx").info("HTTP Request: GET https://partner.example/?t=%s", CANARY)
    logs = json_logs(capsys)
    assert [(d["logger"], d["message"]) for d in logs] == [("uvicorn.error", "Uvicorn says hi")]


def test_log_level_comes_from_the_setting(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        configure_logging("WARNING")
        capsys.readouterr()
        logging.getLogger("hub.test").info("quiet")
        logging.getLogger("hub.test").warning("loud")
        assert [d["message"] for d in json_logs(capsys)] == ["loud"]
    finally:
        configure_logging("INFO")


def test_request_id_is_accepted_echoed_and_logged(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    client = probe_client(runtime)
    capsys.readouterr()
    response = client.post(
        "/_probe/items/abc", json={"count": 1, "name": "x"}, headers={"X-Request-ID": "req-7.a:b"}
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-7.a:b"
    logs = [d for d in json_logs(capsys) if d["logger"].startswith("hub.")]
    assert {d["logger"] for d in logs} == {"hub.probe", "hub.access"}
    assert all(d["request_id"] == "req-7.a:b" for d in logs)


def test_an_unsafe_request_id_is_replaced_and_each_request_gets_its_own(
    runtime: Runtime,
) -> None:
    client = probe_client(runtime)
    seen = set()
    for bad in ("", "a b", "x" * 129, "<script>", "../etc", "é", None):
        headers = {} if bad is None else {"X-Request-ID": bad.encode("utf-8")}
        generated = client.get("/healthz", headers=headers).headers["X-Request-ID"]
        assert generated != bad
        assert len(generated) == 32 and generated.isalnum()
        seen.add(generated)
    assert len(seen) == 7


def test_access_line_has_the_route_template_and_no_request_content(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    client = probe_client(runtime)
    capsys.readouterr()
    response = client.post(
        f"/_probe/items/{CANARY}?q={CANARY}",
        json={"count": 3, "name": CANARY},
        headers={"Authorization": f"Bearer {CANARY}", "X-Note": CANARY},
    )
    assert response.status_code == 200
    err = capsys.readouterr().err
    assert CANARY not in err
    access = [json.loads(line) for line in err.splitlines() if '"hub.access"' in line]
    assert len(access) == 1
    line = access[0]
    assert line["method"] == "POST"
    assert line["route"] == "/_probe/items/{item_id}"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_a_broken_log_call_does_not_print_its_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    capsys.readouterr()
    logging.getLogger("hub.test").info("two placeholders %s %s", CANARY)
    assert CANARY not in capsys.readouterr().err
