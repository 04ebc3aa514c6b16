"""JSON the hub cannot hold is a 422 problem on every body, never a 500 and never stored
changed: a lone surrogate (`"\\ud800"`: no UTF-8 for it) is `invalid_text`; NaN, Infinity and
numbers too large for a float (which JSON parsers turn into `null` on the way back) are
`invalid_number`."""

from __future__ import annotations

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support.api import partner

CASE = (
    '{"external_ref": "MRRM-NE-JSON-%s", "subject": {"birth_date": "1990-01-01", "sex": "female"},'
    ' "data": {"identity": {"given_name": %s, "family_name": "Moussa"}, "health": {"score": %s}}}'
)


def _post(api: TestClient, headers: dict[str, str], ref: str, name: str, number: str):  # type: ignore[no-untyped-def]
    body = (CASE % (ref, name, number)).encode("ascii")
    return api.post(
        "/v1/cases", content=body, headers=headers | {"content-type": "application/json"}
    )


@pytest.mark.parametrize(
    ("name", "number", "code"),
    [
        ('"A\\ud800cha"', "1", "invalid_text"),
        ('"\\udfff"', "1", "invalid_text"),
        ('"A\\ud83d"', "1", "invalid_text"),  # the first half of a pair, alone
        ('"Ai\\u0000cha"', "1", "invalid_text"),  # NUL: PostgreSQL's text cannot hold it
        ('"Aicha"', "NaN", "invalid_number"),
        ('"Aicha"', "Infinity", "invalid_number"),
        ('"Aicha"', "-Infinity", "invalid_number"),
        ('"Aicha"', "1e400", "invalid_number"),
    ],
)
def test_a_case_body_the_hub_cannot_hold_is_422(
    runtime: Runtime, api: TestClient, name: str, number: str, code: str
) -> None:
    iom = partner(runtime, api, "IOM Niamey", kind="iom_office")
    response = _post(api, iom.headers, "1", name, number)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert "Aicha" not in response.text
    # nothing stored: the same reference is free
    assert _post(api, iom.headers, "1", '"Aicha"', "1").status_code == 201


def test_a_surrogate_pair_is_text_and_comes_back_whole(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Niamey", kind="iom_office")
    response = _post(api, iom.headers, "2", '"A\\ud83d\\ude00cha"', "1.5")
    assert response.status_code == 201, response.text
    case = api.get(f"/v1/cases/{response.json()['id']}", headers=iom.headers).json()
    assert case["data"]["identity"]["given_name"] == "A\U0001f600cha"
    assert case["data"]["health"]["score"] == 1.5


def test_keys_and_bytes_count_too(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Niamey", kind="iom_office")
    headers = iom.headers | {"content-type": "application/json"}
    key = b'{"external_ref": "X", "subject": {}, "data": {"\\ud800": {}}}'
    response = api.post("/v1/cases", content=key, headers=headers)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_text")
    not_utf8 = b'{"external_ref": "\xff\xfe", "subject": {}, "data": {}}'
    response = api.post("/v1/cases", content=not_utf8, headers=headers)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_text")
    # without a content type FastAPI reads the body as JSON all the same
    response = api.post("/v1/cases", content=b'{"external_ref": NaN}', headers=iom.headers)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_number")
    # malformed JSON stays what it was
    response = api.post("/v1/cases", content=b'{"external_ref": ', headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "malformed_json")


def test_every_json_body_of_the_api_is_checked(runtime: Runtime, api: TestClient) -> None:
    """Each POST, PUT and PATCH route of the app, with a NaN and a lone surrogate: 422, never
    500 (checked before the route is even found, so no route can forget it)."""
    app = api.app
    iom = partner(runtime, api, "IOM Niamey", kind="iom_office")
    headers = iom.headers | {"content-type": "application/json"}
    checked = 0
    for route in iter_route_contexts(app.routes):  # type: ignore[attr-defined]
        methods = route.methods or set()
        path = (route.path or "").replace("{", "").replace("}", "")
        for method in sorted(methods & {"POST", "PUT", "PATCH"}):
            for body, code in ((b'{"x": NaN}', "invalid_number"), (b'["\\ud800"]', "invalid_text")):
                response = api.request(method, path, content=body, headers=headers)
                assert response.status_code == 422, (method, path, response.text)
                assert response.json()["code"] == code, (method, path)
                checked += 1
    assert checked > 20
    fhir = api.post(
        "/v1/cases",
        content=b'{"a": Infinity}',
        headers=iom.headers | {"content-type": "application/fhir+json"},
    )
    assert fhir.json()["code"] == "invalid_number"
