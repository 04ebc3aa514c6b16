"""A short schemathesis stateful run over the hub, following the OpenAPI document's links.

Scenarios chain operations as the links say (a case made → its reads, consents, erasure,
disclosures), with path ids taken from earlier answers. Every answer must be no 5xx, have a
status the document lists for its operation and a media type the document gives for it.
`bench/stateful.py` runs the same for longer and prints what it reached.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from bench.fuzz import seed
from bench.stateful import format_report, run
from hub.runtime import Runtime
from tests.support.api import operator


def test_a_stateful_run_follows_the_links_within_the_document(
    runtime: Runtime, api: TestClient
) -> None:
    token, _ = seed(runtime, api)
    admin = operator(runtime, api)
    report = run(api.app, token=token, admin_token=admin.token, examples=12, steps=5)
    assert report.failures == [], format_report(report)
    # a case was made, and at least one operation was reached through its links with a 2xx
    assert "POST /v1/cases" in report.succeeded, format_report(report)
    assert len(report.succeeded - {"POST /v1/cases"}) >= 1, format_report(report)
