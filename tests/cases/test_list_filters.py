"""`GET /v1/cases` with filters: by part of the reference, status, registration dates and open
referrals — the same query the console's case list runs; bad values are problem documents."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from hub.cases import service
from hub.cases.models import Case
from hub.clock import utcnow
from tests.support.referral_world import World


def _ids(world: World, api: TestClient, **params: str) -> set[str]:
    answer = api.get("/v1/cases", params=params, headers=world.sender.headers)
    assert answer.status_code == 200, answer.text
    return {item["id"] for item in answer.json()["items"]}


def test_filters(world: World, api: TestClient) -> None:
    old, referred, erased = world.case(), world.case(), world.case()
    with world.runtime.sessions.begin() as db:
        db.get_one(Case, old).created_at = utcnow() - timedelta(days=10)
        service.erase(db=db, actor="test", case=db.get_one(Case, erased))
    world.consent(referred)
    referral = world.refer(referred)
    assert referral.status_code == 201
    with world.runtime.sessions() as db:
        reference = db.get_one(Case, referred).external_ref
    other = world.api.post(
        "/v1/cases",
        json={"external_ref": reference, "subject": {"birth_date": "1990-01-01", "sex": "male"}},
        headers=world.outsider.headers,
    )
    assert other.status_code == 201  # the same reference elsewhere: never listed here
    day = (utcnow() - timedelta(days=2)).date().isoformat()
    assert _ids(world, api, reference=reference.lower()[-6:]) == {referred}
    assert _ids(world, api, status="open") == {old, referred}
    assert _ids(world, api, status="erased") == {erased}
    assert _ids(world, api, registered_from=day) == {referred, erased}
    assert _ids(world, api, registered_to=day) == {old}
    assert _ids(world, api, has_open_referrals="true") == {referred}
    assert _ids(world, api, has_open_referrals="false") == {old, erased}
    # a referral closed is no longer open
    cancelled = world.act(referral.json()["id"], "cancel", world.sender, {"reason": "test"})
    assert cancelled.status_code == 200, cancelled.text
    assert _ids(world, api, has_open_referrals="true") == set()
    # wildcards in the search are plain characters
    assert _ids(world, api, reference="%") == set()


def test_bad_filter_values_are_problems(world: World, api: TestClient) -> None:
    for params in (
        {"status": "ended"},
        {"registered_from": "yesterday"},
        {"has_open_referrals": "maybe"},
    ):
        answer = api.get("/v1/cases", params=params, headers=world.sender.headers)
        assert answer.status_code == 422, params
        assert answer.headers["content-type"].startswith("application/problem+json")
    backwards = api.get(
        "/v1/cases",
        params={"registered_from": "2026-02-01", "registered_to": "2026-01-01"},
        headers=world.sender.headers,
    )
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_range"


def test_the_filters_are_documented(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/v1/cases"]["get"]["parameters"]}
    assert {
        "reference",
        "status",
        "registered_from",
        "registered_to",
        "has_open_referrals",
    } <= params
