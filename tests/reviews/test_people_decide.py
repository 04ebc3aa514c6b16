"""Decisions by people: a review is approved, denied or returned by a consent officer who is a
person (the console's user, or a client acting for one with `On-Behalf-Of`), never by a bare
machine client, and never by a case worker acting through a client."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support.api import Partner, client_for, officer_for, person_of
from tests.support.referral_world import World, make_world

JUSTIFIED = {"justification": "Checked with the case worker."}


@pytest.fixture
def world(runtime: Runtime, api: TestClient) -> World:
    return make_world(runtime, api)


def _held(world: World, who: Partner) -> dict[str, Any]:
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    held = world.refer(case_id, categories=["identity", "health"], headers=who.headers).json()
    assert held["status"] == "pending_review", held
    return held


def _decide(world: World, who: Partner, review_id: str, verdict: str = "approve") -> Any:
    return world.api.post(f"/v1/reviews/{review_id}/{verdict}", json=JUSTIFIED, headers=who.headers)


def test_a_second_client_of_the_office_never_approves_after_the_first_was_refused(
    runtime: Runtime, api: TestClient, world: World
) -> None:
    office = world.sender.organization_id
    scopes = "referrals:read referrals:write reviews:decide"
    maker = officer_for(runtime, api, office, scopes)  # an officer's client makes the request
    held = _held(world, maker)
    review_id = held["review_id"]

    first = _decide(world, maker, review_id)
    assert first.status_code == 403 and first.json()["code"] == "four_eyes"

    second = client_for(runtime, api, office, "reviews:decide")
    bare = _decide(world, second, review_id)
    assert bare.status_code == 403 and bare.json()["code"] == "person_required"
    # the same person through another client: still four eyes
    again = _decide(world, second.acting_for(maker.user_id), review_id)
    assert again.status_code == 403 and again.json()["code"] == "four_eyes"
    # a case worker acting through the client cannot decide
    worker = person_of(runtime, office, "case_worker")
    refused = _decide(world, second.acting_for(worker), review_id)
    assert refused.status_code == 403 and refused.json()["code"] == "not_a_consent_officer"
    assert world.get(held["id"], world.sender).json()["status"] == "pending_review"

    # another consent officer, a person, decides
    officer = person_of(runtime, office, "consent_officer")
    decided = _decide(world, second.acting_for(officer), review_id)
    assert decided.status_code == 200, decided.text
    assert decided.json()["decided_by"] == f"user:{officer}@{office} via client:{second.client_id}"


@pytest.mark.parametrize("verdict", ["approve", "deny", "return"])
def test_every_decision_is_a_persons(world: World, verdict: str) -> None:
    held = _held(world, world.sender)
    bare = client_for(world.runtime, world.api, world.sender.organization_id, "reviews:decide")
    refused = _decide(world, bare, held["review_id"], verdict)
    assert refused.status_code == 403
    assert refused.json()["code"] == "person_required"
    officer = officer_for(world.runtime, world.api, world.sender.organization_id)
    assert _decide(world, officer, held["review_id"], verdict).status_code == 200


def test_a_disabled_officer_does_not_decide(world: World) -> None:
    from hub.users.models import User

    held = _held(world, world.sender)
    officer = officer_for(world.runtime, world.api, world.sender.organization_id)
    with world.runtime.sessions.begin() as db:
        user = db.get_one(User, officer.user_id)
        user.role = "admin"  # no longer an officer (an admin of the office)
    refused = _decide(world, officer, held["review_id"])
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_a_consent_officer"
