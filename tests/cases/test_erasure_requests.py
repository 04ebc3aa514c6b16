"""Erasing a case cancels its requests still under review and closes their reviews: nothing is
left in the officers' queue (API and console) about data that no longer exists, and what a
review still shows reveals nothing of the erased case."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hub.audit.models import AuditEntry
from hub.referrals.models import Referral
from hub.reviews.models import Review
from hub.runtime import Runtime
from hub.transfers.models import Transfer
from tests.support import transfer_world
from tests.support.people import person, sign_in
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, make_world
from tests.support.reviews import send_back

OLD_JUSTIFICATION = "Canary: Pellandrine Soukour's brother asked us to wait"


def pending_ids(api: TestClient, headers: dict[str, str]) -> set[str]:
    answer = api.get("/v1/reviews", params={"status": "pending"}, headers=headers)
    assert answer.status_code == 200, answer.text
    return {item["id"] for item in answer.json()["items"]}


def review_of(runtime: Runtime, object_id: str) -> str:
    with runtime.sessions() as db:
        return db.scalars(
            select(Review.id).where(Review.object_id == object_id).order_by(Review.created_at)
        ).all()[-1]


def test_erasure_cancels_held_and_returned_referrals_and_closes_their_reviews(
    runtime: Runtime, api: TestClient
) -> None:
    world = make_world(runtime, api)
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    held = world.refer(case_id, categories=["identity", "health"])
    assert held.status_code == 202, held.text
    returned = world.refer(case_id, categories=["identity", "health"])
    assert returned.status_code == 202, returned.text
    held_id, returned_id = held.json()["id"], returned.json()["id"]
    held_review = held.json()["review_id"]
    send_back(runtime, returned.json()["review_id"])
    # a justification from before they were sealed, in clear in the row (migration 0009)
    with runtime.sessions.begin() as db:
        db.execute(
            update(Review)
            .where(Review.id == returned.json()["review_id"])
            .values(justification=OLD_JUSTIFICATION, justification_ciphertext=None)
        )
    officer = world.officer
    assert held_review in pending_ids(api, officer.headers)
    console_officer = person(runtime, world.sender.organization_id, "consent_officer")
    sign_in(api, console_officer)
    assert f"/console/reviews/{held_review}" in api.get("/console/reviews").text

    erased = api.delete(f"/v1/cases/{case_id}", headers=world.sender.headers)
    assert erased.status_code == 204, erased.text

    assert held_review not in pending_ids(api, officer.headers)
    workspace = api.get("/console/reviews")
    assert workspace.status_code == 200
    assert f"/console/reviews/{held_review}" not in workspace.text
    for referral_id in (held_id, returned_id):
        answer = world.get(referral_id, world.sender)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "cancelled"
        assert answer.json()["status_reason"] == "case_erased"
    with runtime.sessions() as db:
        assert db.get_one(Referral, held_id).status == "cancelled"
        closed = db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "review.closed", AuditEntry.object_id == held_review
            )
        ).one()
        assert closed.details["reason_code"] == "case_erased"
        assert closed.details["move"] == "erase_case"
    # deciding it now is refused: it was closed
    late = api.post(
        f"/v1/reviews/{held_review}/approve",
        json={"justification": "looks fine"},
        headers=officer.headers,
    )
    assert late.status_code == 409, late.text
    assert late.json()["code"] == "review_decided"

    # what the reviews still show, through the API and the console, holds nothing of the case
    for review_id in (held_review, returned.json()["review_id"]):
        shown = api.get(f"/v1/reviews/{review_id}", headers=officer.headers)
        assert shown.status_code == 200, shown.text
        body = shown.json()
        assert body["note"] is None and body["justification"] is None
        assert body["age_band"] == "unknown"
        page = api.get(f"/console/reviews/{review_id}")
        assert page.status_code == 200
        for text in (shown.text, page.text):
            for canary in (CANARY_NAME, CANARY_NOTE, OLD_JUSTIFICATION):
                assert canary not in text
    listed = api.get("/v1/reviews", headers=officer.headers).text
    assert OLD_JUSTIFICATION not in listed and CANARY_NOTE not in listed
    with runtime.sessions() as db:
        assert db.get_one(Review, held_review).status == "withdrawn"
        assert db.get_one(Review, returned.json()["review_id"]).justification is None


@pytest.mark.parametrize("resubmitted", [False, True])
def test_erasure_cancels_a_held_transfer_and_closes_its_review(
    runtime: Runtime, api: TestClient, resubmitted: bool
) -> None:
    world = transfer_world.make_world(runtime, api)
    ministry = transfer_world.ministry(world)
    case_id = world.case()
    world.consent(case_id, recipients={"organizations": [], "kinds": ["government"]})
    held = world.propose(case_id, ministry)
    assert held.status_code == 202, held.text
    transfer_id = held.json()["id"]
    review_id = held.json()["review_id"]
    if resubmitted:
        # sent back, then asked again: a new review waits
        send_back(runtime, review_id)
        again = world.act(transfer_id, "resubmit", world.sender)
        assert again.status_code in (200, 202), again.text
        review_id = review_of(runtime, transfer_id)
    assert review_id in pending_ids(api, world.officer.headers)

    erased = api.delete(f"/v1/cases/{case_id}", headers=world.sender.headers)
    assert erased.status_code == 204, erased.text

    assert review_id not in pending_ids(api, world.officer.headers)
    with runtime.sessions() as db:
        transfer = db.get_one(Transfer, transfer_id)
        assert (transfer.status, transfer.status_reason) == ("cancelled", "case_erased")
        assert db.get_one(Review, review_id).status == "withdrawn"
    events = world.events(transfer_id, world.sender)
    assert events[-1]["to_status"] == "cancelled"
    assert events[-1]["reason_code"] == "case_erased"


def test_erasing_twice_is_410_and_moves_nothing(runtime: Runtime, api: TestClient) -> None:
    world = make_world(runtime, api)
    case_id = world.case()
    assert api.delete(f"/v1/cases/{case_id}", headers=world.sender.headers).status_code == 204
    again = api.delete(f"/v1/cases/{case_id}", headers=world.sender.headers)
    assert again.status_code == 410
    assert again.json()["code"] == "case_erased"
