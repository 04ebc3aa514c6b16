"""The case worker's "Refer" flow, page by page: find the case, choose the service, the
recipient and the data, check what the consent gate would do (the dry run), send, confirm."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.api.models import IdempotencyRecord
from hub.cases.models import Case
from hub.consent.models import GateDecision
from hub.outbox.models import OutboxMessage
from hub.referrals.models import Referral
from hub.reviews.models import Review
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import CANARY_NAME, World

# the case's legal status, which the consent does not cover: withheld, so never on a page
WITHHELD_VALUE = "irregular"
# all the case holds but health
ASKED = ["contact", "identity", "legal_status", "psychosocial"]


@pytest.fixture
def worker(world: World, api: TestClient) -> Person:
    who = person(world.runtime, world.sender.organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    return who


def _count(world: World, model: type) -> int:
    with world.runtime.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _check(
    world: World, api: TestClient, case_id: str, categories: list[str] = ASKED, **extra: str
) -> httpx.Response:
    page = api.get(
        f"/console/cases/{case_id}/refer/recipient", params={"service_type": "psychosocial_support"}
    )
    assert page.status_code == 200, page.text
    form: dict[str, Any] = {
        "csrf_token": csrf_of(page.text),
        "service_type": "psychosocial_support",
        "to_organization_id": world.recipient.organization_id,
        "categories": categories,
        **extra,
    }
    return api.post(f"/console/cases/{case_id}/refer/check", data=form)


def _send(
    world: World, api: TestClient, case_id: str, check: httpx.Response, **fields: Any
) -> httpx.Response:
    form: dict[str, Any] = {
        "csrf_token": csrf_of(check.text),
        "service_type": "psychosocial_support",
        "to_organization_id": world.recipient.organization_id,
        "categories": ASKED,
        "urgency": "normal",
        "note": "",
        **fields,
    }
    return api.post(f"/console/cases/{case_id}/refer/send", data=form, follow_redirects=False)


def test_a_case_worker_finds_the_case_by_its_reference(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    with world.runtime.sessions() as db:
        reference = db.get_one(Case, case_id).external_ref
    home = api.get("/console")
    assert 'href="/console/refer"' in home.text and "Refer a case" in home.text
    found = api.get(
        "/console/refer", params={"reference": f" {reference} "}, follow_redirects=False
    )
    assert found.status_code == 303
    assert found.headers["location"] == f"/console/cases/{case_id}/refer"
    empty = api.get("/console/refer", params={"reference": ""})
    assert empty.status_code == 400 and 'href="#reference"' in empty.text


def test_another_offices_case_is_not_found(world: World, worker: Person, api: TestClient) -> None:
    # the outsider holds a case under a reference the sender does not use
    body = {
        "external_ref": "NGO-ELSEWHERE-7",
        "subject": {"birth_date": "1990-01-01", "sex": "male"},
        "data": {"identity": {"given_name": "Someone"}},
    }
    made = api.post("/v1/cases", json=body, headers=world.outsider.headers)
    assert made.status_code == 201, made.text
    search = api.get("/console/refer", params={"reference": "NGO-ELSEWHERE-7"})
    assert search.status_code == 400
    assert "No case of your office has this reference." in search.text
    assert made.json()["id"] not in search.text
    elsewhere = made.json()["id"]
    assert api.get(f"/console/cases/{elsewhere}/refer").status_code == 404
    page = api.get(f"/console/cases/{world.case()}/refer/recipient?service_type=shelter")
    forged = api.post(
        f"/console/cases/{elsewhere}/refer/check",
        data={
            "csrf_token": csrf_of(page.text),
            "service_type": "psychosocial_support",
            "to_organization_id": world.recipient.organization_id,
            "categories": ["identity"],
        },
    )
    assert forged.status_code == 404
    assert _count(world, GateDecision) == 0


def test_the_service_then_the_organisations_offering_it(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    services = api.get(f"/console/cases/{case_id}/refer")
    assert services.status_code == 200
    assert '<a href="/console/refer" aria-current="page">' in services.text
    assert 'value="psychosocial_support"' in services.text and "Legal assistance" in services.text
    none_chosen = api.get(f"/console/cases/{case_id}/refer/recipient")
    assert none_chosen.status_code == 400 and "Choose a service." in none_chosen.text
    page = api.get(
        f"/console/cases/{case_id}/refer/recipient", params={"service_type": "psychosocial_support"}
    )
    assert "Partner NGO" in page.text
    assert "Another NGO" not in page.text  # offers nothing
    assert world.sender.organization_id not in page.text  # not to itself
    # every category the case holds is offered, checked until the worker narrows it
    for category in ("identity", "contact", "psychosocial", "health", "legal_status"):
        assert f'id="category-{category}" name="categories" value="{category}" checked' in page.text
    nobody = api.get(f"/console/cases/{case_id}/refer/recipient?service_type=shelter")
    assert "No organisation offers this service" in nobody.text


def test_check_before_sending_shows_the_gates_decision_and_stores_nothing(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    world.consent(case_id)
    check = _check(world, api, case_id)
    assert check.status_code == 200, check.text
    text = check.text
    assert "Check before sending" in text and "It can be sent now" in text
    sent_part, withheld_part = text.split("What is withheld, and why")
    for label in ("Identity", "Contact details", "Psychosocial"):
        assert label in sent_part.split("What will be sent")[1]
    assert "Legal status" in withheld_part
    assert "consent does not cover it for this recipient" in withheld_part
    # the withheld value, and the person's name, are nowhere in the page
    assert WITHHELD_VALUE not in text and CANARY_NAME not in text
    assert 'action="/console/cases/' + case_id + '/refer/send"' in text
    assert text.count('type="submit" class="button"') == 1  # one button to send
    assert _count(world, Referral) == _count(world, OutboxMessage) == 0
    assert _count(world, IdempotencyRecord) == 0
    with world.runtime.sessions() as db:
        contexts = list(db.scalars(select(GateDecision.context)))
    assert contexts == ["dry_run"]
    # the same answer the API's dry run gives for the same body
    api_answer = world.refer(case_id, categories=ASKED, dry_run=True).json()
    assert (api_answer["decision"], api_answer["withheld_categories"]) == (
        "permit",
        ["legal_status"],
    )


def test_sending_makes_the_referral_through_the_api_s_service(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    world.consent(case_id)
    check = _check(world, api, case_id)
    sent = _send(world, api, case_id, check, urgency="high", note="Speaks Hausa.")
    assert sent.status_code == 303, sent.text
    with world.runtime.sessions() as db:
        referral = db.scalars(select(Referral)).one()
        assert referral.status == "sent" and referral.urgency == "high"
        assert referral.categories == ["contact", "identity", "psychosocial"]
        assert referral.withheld_categories == ["legal_status"]
        assert referral.created_by == f"user:{worker.id}@{worker.organization_id}"
    assert sent.headers["location"] == f"/console/referrals/{referral.id}/sent"
    done = api.get(sent.headers["location"])
    assert done.status_code == 200 and "Referral sent" in done.text
    assert "Partner NGO must acknowledge it by" in done.text
    assert WITHHELD_VALUE not in done.text and "Speaks Hausa." not in done.text
    # the recipient sees it through the API with the note
    seen = world.get(referral.id, world.recipient).json()
    assert seen["note"] == "Speaks Hausa." and "legal_status" not in seen["payload"]


def test_a_referral_held_for_review_says_so_before_and_after(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    check = _check(world, api, case_id, categories=["identity", "health"])
    assert "A consent officer must review it" in check.text
    assert "Sensitive data would be shared: Health" in check.text
    assert "What will be sent once approved" in check.text
    sent = _send(world, api, case_id, check, categories=["identity", "health"])
    assert sent.status_code == 303
    done = api.get(sent.headers["location"])
    assert "Referral held for review" in done.text
    with world.runtime.sessions() as db:
        referral = db.scalars(select(Referral)).one()
        assert referral.status == "pending_review"
        assert db.get_one(Review, referral.review_id).status == "pending"


def test_a_refusal_is_shown_with_no_button_to_send(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()  # no consent
    check = _check(world, api, case_id)
    assert check.status_code == 200
    assert "This referral cannot be sent" in check.text
    assert "No active consent covers this request" in check.text
    assert "/refer/send" not in check.text
    # a forged send is refused by the service all the same: the page says nothing was sent
    forged = _send(world, api, case_id, check)
    assert forged.status_code == 422 and "The referral was not sent" in forged.text
    assert _count(world, Referral) == 0


def test_missing_choices_are_shown_back_with_the_errors(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    answer = _check(world, api, case_id, categories=[], to_organization_id="")
    assert answer.status_code == 400
    assert f'href="#recipient-{world.recipient.organization_id}"' in answer.text
    assert 'href="#category-contact"' in answer.text
    assert _count(world, GateDecision) == 0


def test_posts_without_the_csrf_token_are_refused(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    world.consent(case_id)
    for step in ("check", "send"):
        answer = api.post(
            f"/console/cases/{case_id}/refer/{step}",
            data={
                "service_type": "psychosocial_support",
                "to_organization_id": world.recipient.organization_id,
                "categories": ASKED,
                "urgency": "normal",
            },
        )
        assert answer.status_code == 403
    assert _count(world, GateDecision) == _count(world, Referral) == 0


def test_a_consent_officer_does_not_refer(world: World, api: TestClient) -> None:
    officer = person(world.runtime, world.sender.organization_id, "consent_officer")
    sign_in(api, officer)
    assert 'href="/console/refer"' not in api.get("/console").text
    assert api.get("/console/refer").status_code == 403


def test_the_confirmation_is_the_senders_only(
    world: World, worker: Person, api: TestClient
) -> None:
    referral_id = world.sent()
    assert api.get(f"/console/referrals/{referral_id}/sent").status_code == 200
    partner_worker = person(world.runtime, world.recipient.organization_id, "case_worker")
    with TestClient(api.app) as other:
        sign_in(other, partner_worker, enrol=False)
        assert other.get(f"/console/referrals/{referral_id}/sent").status_code == 404


def test_the_check_page_speaks_french(world: World, worker: Person, api: TestClient) -> None:
    case_id = world.case()
    world.consent(case_id)
    api.get("/console?lang=fr")
    check = _check(world, api, case_id)
    assert '<html lang="fr">' in check.text
    assert "<h1>Vérifier avant l'envoi</h1>" in check.text
    assert "Check before sending" not in check.text
    assert WITHHELD_VALUE not in check.text


def test_the_language_switch_of_the_check_page_goes_back_to_the_first_step(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    world.consent(case_id)
    check = _check(world, api, case_id)
    switch = f"/console/cases/{case_id}/refer/check?lang=fr"
    assert f'href="{switch}"' in check.text
    answer = api.get(switch, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/cases/{case_id}/refer?lang=fr"
    assert '<html lang="fr">' in api.get(answer.headers["location"]).text


def test_sending_the_same_check_page_twice_makes_one_referral(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    world.consent(case_id)
    check = _check(world, api, case_id)
    key = re.search(r'name="send_key" value="([^"]+)"', check.text)
    assert key
    first = _send(world, api, case_id, check, send_key=key.group(1))
    again = _send(world, api, case_id, check, send_key=key.group(1))
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert _count(world, Referral) == 1
    # another check page is another key: a second referral, on purpose
    other = _check(world, api, case_id)
    key2 = re.search(r'name="send_key" value="([^"]+)"', other.text)
    assert key2 and key2.group(1) != key.group(1)
    assert _send(world, api, case_id, other, send_key=key2.group(1)).status_code == 303
    assert _count(world, Referral) == 2
