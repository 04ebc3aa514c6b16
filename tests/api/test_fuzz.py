"""A short schemathesis run over every operation of the OpenAPI document, in process.

A few derandomised examples per operation (valid and invalid requests, half of them aimed at a
seeded case, consent, referral, transfer and review), each with a partner's token holding all
partner scopes: no 5xx, no exception out of the app, and every error a problem document with a
`code` (RFC 6749 JSON errors on /oauth/*). `bench/fuzz.py` runs the same for longer.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from bench.fuzz import format_report, fuzz, seed
from hub.runtime import Runtime
from tests.support.api import partner
from tests.support.probe import probe_app

EXAMPLES = 3


def test_every_operation_survives_a_short_fuzz(runtime: Runtime, api: TestClient) -> None:
    token, ids = seed(runtime, api)
    report = fuzz(api.app, token=token, ids=ids, examples=EXAMPLES)
    assert report.operations >= 60, format_report(report)
    assert report.requests >= report.operations * EXAMPLES, format_report(report)
    assert report.failures == [], format_report(report)
    # every status an operation answered is one its OpenAPI document declares
    assert report.undocumented == {}, format_report(report)


def test_the_fuzz_catches_a_server_error(runtime: Runtime, api: TestClient) -> None:
    """The same run over a test-only route that fails: a 500 is reported, with its request."""
    ngo = partner(runtime, api, "Partner NGO")
    report = fuzz(probe_app(runtime), token=ngo.token, ids={}, examples=1, only="/_probe/boom")
    assert report.operations == 1
    assert report.server_errors, format_report(report)
    assert "/_probe/boom" in report.server_errors[0].request
