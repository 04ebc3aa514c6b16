"""The case worker's cases at the console: the list (search, filters, paging), the case's
page (the owner's view; another office's case is 404), and the registration form (errors,
check your answers, then the same case the API makes)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.cases.models import Case
from hub.clock import utcnow
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import CANARY_NAME, World

NAME = "Nafissa Testeuse"


@pytest.fixture
def worker(world: World, api: TestClient) -> Person:
    who = person(world.runtime, world.sender.organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    return who


def _reference(world: World, case_id: str) -> str:
    with world.runtime.sessions() as db:
        return db.get_one(Case, case_id).external_ref


def _backdate(world: World, case_id: str, days: int) -> None:
    with world.runtime.sessions.begin() as db:
        db.get_one(Case, case_id).created_at = utcnow() - timedelta(days=days)


def _form(page_html: str, **fields: Any) -> dict[str, Any]:
    base = {
        "csrf_token": csrf_of(page_html),
        "external_ref": "MRRM-NE-2026-0900",
        "birth_date": "2010-03-14",
        "sex": "female",
        "identity.given_name": NAME.split()[0],
        "identity.family_name": NAME.split()[1],
        "contact.phone": "+227 90 11 22 33",
        "psychosocial.notes": "Sleeps badly since the journey.",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


# -- the list -------------------------------------------------------------------------------------
def test_the_list_shows_the_offices_cases_by_reference_newest_first(
    world: World, worker: Person, api: TestClient
) -> None:
    older, newer = world.case(), world.case()
    _backdate(world, older, 3)
    elsewhere = world.api.post(
        "/v1/cases",
        json={
            "external_ref": "NGO-OTHER-1",
            "subject": {"birth_date": "1990-01-01", "sex": "male"},
        },
        headers=world.outsider.headers,
    ).json()["id"]
    page = api.get("/console/cases")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert '<a href="/console/cases" aria-current="page">Cases</a>' in page.text
    first, second = _reference(world, newer), _reference(world, older)
    assert page.text.index(first) < page.text.index(second)
    assert "NGO-OTHER-1" not in page.text and elsewhere not in page.text
    assert CANARY_NAME not in page.text  # no names in a list


def test_search_and_filters(world: World, worker: Person, api: TestClient) -> None:
    old, referred, plain = world.case(), world.case(), world.case()
    _backdate(world, old, 10)
    world.consent(referred)
    assert world.refer(referred).status_code == 201
    day = (utcnow() - timedelta(days=2)).date().isoformat()

    def shown(**params: str) -> set[str]:
        page = api.get("/console/cases", params=params)
        assert page.status_code == 200, page.text
        return {c for c in (old, referred, plain) if f"/console/cases/{c}" in page.text}

    part = _reference(world, plain)[-5:].lower()  # part of it, other letter case
    assert shown(reference=part) == {plain}
    assert shown(has_open_referrals="yes") == {referred}
    assert shown(has_open_referrals="no") == {old, plain}
    assert shown(registered_from=day) == {referred, plain}
    assert shown(registered_to=day) == {old}
    assert shown(status="open") == {old, referred, plain}
    assert shown(status="erased") == set()
    bad = api.get("/console/cases", params={"registered_from": "28/11/2026"})
    assert bad.status_code == 400
    assert 'href="#registered_from"' in bad.text and "Enter a real date" in bad.text
    backwards = api.get(
        "/console/cases", params={"registered_from": day, "registered_to": "2020-01-01"}
    )
    assert backwards.status_code == 400 and "on or before" in backwards.text


def test_paging_keeps_the_filters(world: World, worker: Person, api: TestClient) -> None:
    made = [world.case() for _ in range(3)]
    with world.runtime.sessions() as db:
        from hub.cases import service

        items, cursor = service.find(
            db=db,
            organization_id=world.sender.organization_id,
            wanted=service.CaseFilter(status=service.CaseStatus.open),
            cursor=None,
            limit=2,
        )
    assert len(items) == 2 and cursor
    assert {i.id for i in items} <= set(made)


# -- the case -------------------------------------------------------------------------------------
def test_the_case_page_is_the_owners_view(world: World, worker: Person, api: TestClient) -> None:
    case_id = world.case()
    world.consent(case_id)
    assert world.refer(case_id).status_code == 201
    page = api.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    title = page.text.split("<title>")[1].split("</title>")[0]
    assert CANARY_NAME not in title and _reference(world, case_id) in title
    assert CANARY_NAME in page.text  # the owner sees the record
    for heading in ("Identity", "Contact details", "Psychosocial", "Legal status"):
        assert f">{heading}</h3>" in page.text
    assert "Active" in page.text and "Partner NGO" in page.text and "Sent" in page.text
    assert f'href="/console/cases/{case_id}/refer"' in page.text
    assert f'href="/console/cases/{case_id}/statement"' in page.text


def test_another_offices_case_is_not_found(world: World, worker: Person, api: TestClient) -> None:
    made = world.api.post(
        "/v1/cases",
        json={
            "external_ref": "NGO-OTHER-2",
            "subject": {"birth_date": "1990-01-01", "sex": "male"},
            "data": {"identity": {"given_name": CANARY_NAME}},
        },
        headers=world.outsider.headers,
    )
    page = api.get(f"/console/cases/{made.json()['id']}")
    assert page.status_code == 404 and CANARY_NAME not in page.text


# -- the registration form ---------------------------------------------------------------------
def test_the_form_has_a_section_per_category(world: World, worker: Person, api: TestClient) -> None:
    form = api.get("/console/cases/new")
    assert form.status_code == 200
    for category in world.runtime.policy.vocabularies.data_categories:
        assert f'name="{category}.' in form.text
    assert 'id="identity-given_name"' in form.text


def test_errors_are_summarised_and_shown_beside_each_field(
    world: World, worker: Person, api: TestClient
) -> None:
    form = api.get("/console/cases/new")
    answer = api.post(
        "/console/cases/new",
        data=_form(form.text, external_ref="", birth_date="14/03/2010", sex=None),
    )
    assert answer.status_code == 400
    for anchor in ("external_ref", "birth_date", "sex-female"):
        assert f'href="#{anchor}"' in answer.text
    assert 'id="external_ref-error"' in answer.text and 'id="birth_date-error"' in answer.text
    assert 'id="sex-error"' in answer.text
    # what was typed is kept
    assert f'value="{NAME.split()[0]}"' in answer.text
    world.case()
    taken = _reference(world, world.case())
    again = api.post("/console/cases/new", data=_form(form.text, external_ref=taken))
    assert again.status_code == 400 and "already has this reference" in again.text
    future = (utcnow() + timedelta(days=3)).date().isoformat()
    later = api.post("/console/cases/new", data=_form(form.text, birth_date=future))
    assert later.status_code == 400 and "in the past" in later.text
    no_token = _form(form.text)
    no_token.pop("csrf_token")
    assert api.post("/console/cases/new", data=no_token).status_code == 403


def test_check_then_register_makes_the_apis_case(
    world: World, worker: Person, api: TestClient
) -> None:
    form = api.get("/console/cases/new")
    check = api.post("/console/cases/new", data=_form(form.text))
    assert check.status_code == 200
    assert "Check your answers" in check.text and NAME.split()[1] in check.text
    with world.runtime.sessions() as db:
        assert db.query(Case).filter_by(external_ref="MRRM-NE-2026-0900").count() == 0
    # "change" goes back to the form, filled in
    change = api.post("/console/cases", data={**_form(check.text), "change": "1"})
    assert change.status_code == 200 and 'value="MRRM-NE-2026-0900"' in change.text
    done = api.post("/console/cases", data=_form(check.text), follow_redirects=False)
    assert done.status_code == 303
    location = done.headers["location"]
    assert location.startswith("/console/cases/") and NAME.split()[0] not in location
    case_id = location.split("/")[3].split("?")[0]
    page = api.get(location)
    assert "Case registered" in page.text and NAME.split()[1] in page.text
    # the API reads the same case a client would have made with POST /v1/cases
    read = world.api.get(f"/v1/cases/{case_id}", headers=world.sender.headers).json()
    assert read["subject"] == {"birth_date": "2010-03-14", "sex": "female"}
    assert read["data"] == {
        "identity": {"given_name": "Nafissa", "family_name": "Testeuse"},
        "contact": {"phone": "+227 90 11 22 33"},
        "psychosocial": {"notes": "Sleeps badly since the journey."},
    }
    assert read["owner_organization_id"] == world.sender.organization_id
    assert read["categories"] == ["contact", "identity", "psychosocial"]
    # sending the check page again makes no second case
    twice = api.post("/console/cases", data=_form(check.text))
    assert twice.status_code == 400
    with world.runtime.sessions() as db:
        assert db.query(Case).filter_by(external_ref="MRRM-NE-2026-0900").count() == 1
