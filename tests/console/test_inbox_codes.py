"""The console's decline and complete forms offer the policy's coded answers beside the words,
in English and French; a code alone is enough, a forged code is refused on the form."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hub.referrals.models import Referral
from hub.runtime import Runtime
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import World


@pytest.fixture
def worker(world: World, api: TestClient) -> Person:
    who = person(world.runtime, world.recipient.organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    return who


def _stored(runtime: Runtime, referral_id: str) -> Referral:
    with runtime.sessions() as db:
        return db.get_one(Referral, referral_id)


def _move(api: TestClient, referral_id: str, action: str, **fields: str) -> object:
    form = {"csrf_token": csrf_of(api.get("/console/received").text), **fields}
    return api.post(f"/console/received/{referral_id}/{action}", data=form, follow_redirects=False)


def test_declining_offers_the_coded_reasons_and_a_code_is_enough(
    world: World, worker: Person, api: TestClient
) -> None:
    referral_id = world.sent()
    form = api.get(f"/console/received/{referral_id}/decline").text
    for code in world.runtime.policy.vocabularies.decline_reasons:
        assert f'name="reason_code" value="{code}"' in form
    assert "No capacity to take the person" in form
    french = api.get(f"/console/received/{referral_id}/decline", headers={"Accept-Language": "fr"})
    assert "Pas de capacité pour accueillir la personne" in french.text

    forged = _move(api, referral_id, "decline", reason_code="too_busy")
    assert forged.status_code == 400 and 'href="#reason_code"' in forged.text
    assert _stored(world.runtime, referral_id).status in ("sent", "delivered")

    answer = _move(api, referral_id, "decline", reason_code="beneficiary_unreachable")
    assert answer.status_code == 303, answer.text
    stored = _stored(world.runtime, referral_id)
    assert (stored.status, stored.decline_reason_code) == ("declined", "beneficiary_unreachable")
    page = api.get(f"/console/received/{referral_id}").text
    assert "The person could not be reached" in page


def test_completing_keeps_the_coded_outcome_and_the_words(
    world: World, worker: Person, api: TestClient
) -> None:
    referral_id = world.sent()
    for step in ("acknowledge", "accept", "start"):
        assert world.act(referral_id, step, world.recipient).status_code == 200
    form = api.get(f"/console/received/{referral_id}/complete").text
    assert 'name="outcome_code" value="service_provided"' in form
    answer = _move(
        api, referral_id, "complete", outcome_code="service_provided", outcome="Six sessions."
    )
    assert answer.status_code == 303, answer.text
    assert _stored(world.runtime, referral_id).outcome_code == "service_provided"
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert "Six sessions." in events.text
