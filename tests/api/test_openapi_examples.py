"""Every request body in the OpenAPI document has an example, and the API accepts each one as
it is, once the ids in it name objects the caller may use.

Operations are read from the document, so a body added later without an example fails here.
Each example is sent in the state the authorization matrix builds for its operation
(tests/support/route_scenarios.py), by the caller that matrix uses, and must get the same
success status: only the ids (`*_id` members, `supersedes`, organisations named in a consent)
are taken from the scenario's own body, or left out when the scenario has none.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient

from hub.api.openapi import body_schema
from tests.support.route_scenarios import SCENARIOS, Ctx, fill

METHODS = {"get", "post", "put", "patch", "delete"}
# binary bodies have no JSON example; the authorization matrix uploads a real one
NOT_JSON = {("PUT", "/v1/consents/{consent_id}/evidence"): "a scanned form: PDF or an image"}
ID_KEYS = {"supersedes", "organizations"}


def _bodies(api: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    doc = api.app.openapi()  # type: ignore[attr-defined]
    found = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS and "requestBody" in operation:
                found.append((method.upper(), path, operation))
    return found


def _is_id(key: str) -> bool:
    return key.endswith("_id") or key in ID_KEYS


def with_ids(example: Any, scenario: Any) -> Any:
    """The example with its ids taken from the scenario's body (dropped where it has none)."""
    if not isinstance(example, dict):
        return example
    given = scenario if isinstance(scenario, dict) else {}
    out: dict[str, Any] = {}
    for key, value in example.items():
        if _is_id(key):
            if key in given:
                out[key] = given[key]
        else:
            out[key] = with_ids(value, given.get(key))
    return out


def test_every_json_request_body_has_an_example(api: TestClient) -> None:
    doc = api.app.openapi()  # type: ignore[attr-defined]
    bodies = _bodies(api)
    missing = []
    for method, path, operation in bodies:
        content = operation["requestBody"]["content"]
        if "application/json" not in content:
            assert (method, path) in NOT_JSON, (method, path, sorted(content))
            continue
        example = content["application/json"].get("example")
        schema = body_schema(doc, operation)
        if example is None or schema is None or schema.get("examples", [None])[0] != example:
            missing.append((method, path))
    assert missing == [], "add json_schema_extra examples to these bodies' schemas"
    assert len(bodies) >= 20


def test_every_example_is_accepted_as_it_is(ctx: Ctx) -> None:
    api = ctx.api
    posted = []
    for method, path, operation in _bodies(api):
        media = operation["requestBody"]["content"].get("application/json")
        if media is None:
            continue
        scenario = SCENARIOS[(method, path)]
        call = scenario.build(ctx)
        body = with_ids(media["example"], call.body)
        caller = ctx.admin if scenario.admin else ctx.owner
        sent = replace(call, body=body)
        response = api.request(
            method, fill(path, call.path_params), **sent.send(caller.headers, caller=True)
        )
        assert response.status_code == call.status, (method, path, body, response.text)
        posted.append((method, path))
    assert len(posted) >= 20
