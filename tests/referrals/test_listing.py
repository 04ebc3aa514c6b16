"""GET /v1/referrals: the organisation's own, by role, status and lateness, page by page."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from hub.clock import utcnow
from hub.referrals.models import Referral
from tests.support.api import Partner
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World


def _ids(world: World, who: Partner, **params: object) -> list[str]:
    response = world.api.get("/v1/referrals", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_roles_and_what_each_side_sees(world: World) -> None:
    sent = world.sent()
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    held = world.refer(case_id, categories=["identity", "health"]).json()["id"]

    assert _ids(world, world.sender, role="sent") == [held, sent]
    assert _ids(world, world.sender, role="received") == []
    assert _ids(world, world.sender) == [held, sent]
    # a referral held for review has not been sent: the recipient does not see it
    assert _ids(world, world.recipient, role="received") == [sent]
    assert _ids(world, world.recipient) == [sent]
    assert _ids(world, world.recipient, role="sent") == []
    assert _ids(world, world.outsider) == []

    response = world.api.get("/v1/referrals", headers=world.recipient.headers)
    [item] = response.json()["items"]
    assert item["allowed_actions"] == ["acknowledge", "decline"]
    assert item["withheld_categories"] is None and item["review_id"] is None
    assert "payload" not in item and "note" not in item
    assert CANARY_NAME not in response.text and CANARY_NOTE not in response.text


def test_status_filter(world: World) -> None:
    first, second, third = world.sent(), world.sent(), world.sent()
    world.act(second, "acknowledge", world.recipient)
    world.act(third, "decline", world.recipient, {"reason": "full"})
    assert _ids(world, world.sender, status="acknowledged") == [second]
    assert _ids(world, world.sender, status=["sent", "declined"]) == [third, first]
    unknown = world.api.get(
        "/v1/referrals", params={"status": "lost"}, headers=world.sender.headers
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_value")


def test_overdue_filter(world: World) -> None:
    late, on_time, answered = world.sent(), world.sent(), world.sent()
    world.act(answered, "acknowledge", world.recipient)
    past = utcnow() - timedelta(minutes=5)
    with world.runtime.sessions.begin() as db:
        db.execute(
            update(Referral).where(Referral.id.in_([late, answered])).values(acknowledge_by=past)
        )
    assert _ids(world, world.sender, overdue="true") == [late]
    assert _ids(world, world.recipient, role="received", overdue="true") == [late]
    assert _ids(world, world.sender, overdue="false") == [answered, on_time]
    body = world.get(late, world.sender).json()
    assert body["overdue"] is True
    assert world.get(answered, world.sender).json()["overdue"] is False


def test_pages(world: World) -> None:
    made = [world.sent() for _ in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 2, "role": "received"}
        if cursor:
            params["cursor"] = cursor
        body = world.api.get("/v1/referrals", params=params, headers=world.recipient.headers)
        page = body.json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    assert pages == 3
    bad = world.api.get(
        "/v1/referrals", params={"cursor": "garbage!"}, headers=world.sender.headers
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_cursor")
