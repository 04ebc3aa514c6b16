"""The administrators' pages, on a world made the real way: who may open them (the hub
operator's administrators only), and that organisations, agreements and people are made as the
API and the CLI make them, in English and French. Clients, channels and dead deliveries:
test_admin_partners.py."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.organizations.models import DataSharingAgreement, Organization
from hub.users.models import User
from tests.support.administrators import admin, administrator, in_english
from tests.support.api import Partner
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import World

__all__ = ["admin", "administrator"]

PAGES = [
    "/console/admin",
    "/console/admin/organisations",
    "/console/admin/organisations/new",
    "/console/admin/agreements",
    "/console/admin/agreements/new",
    "/console/admin/people",
    "/console/admin/people/new",
    "/console/admin/deliveries",
]


def org_pages(world: World) -> list[str]:
    org = world.recipient.organization_id
    return [
        f"/console/admin/organisations/{org}",
        f"/console/admin/organisations/{org}/clients",
        f"/console/admin/organisations/{org}/channel",
    ]


@pytest.mark.parametrize("role", ["case_worker", "consent_officer", "admin"])
def test_a_partners_people_are_refused_every_page_even_its_admin(
    world: World, api: TestClient, role: str
) -> None:
    # an `admin` at a partner organisation administers its own people, not the hub
    who = person(world.runtime, world.sender.organization_id, role)
    sign_in(api, who)
    home = api.get("/console")
    assert home.status_code == 200 and "/console/admin" not in home.text
    for path in PAGES + org_pages(world):
        answer = api.get(path)
        assert answer.status_code == 403, path
        assert "Your role does not give access to this page." in answer.text
    csrf = csrf_of(home.text)
    posts = [
        ("/console/admin/organisations/new", {"name": "Rogue", "kind": "ngo"}),
        ("/console/admin/deliveries/x/redeliver", {}),
        (
            f"/console/admin/organisations/{world.sender.organization_id}/clients",
            {"scope": "cases:read"},
        ),
    ]
    for path, form in posts:
        assert api.post(path, data={"csrf_token": csrf, **form}).status_code == 403, path
    with world.runtime.sessions() as db:
        assert db.scalar(select(Organization).where(Organization.name == "Rogue")) is None


def test_without_signing_in_each_page_asks_to_sign_in(world: World, api: TestClient) -> None:
    for path in PAGES:
        answer = api.get(path, follow_redirects=False)
        assert answer.status_code == 303 and "/console/sign-in" in answer.headers["location"]


def test_the_administration_is_in_the_navigation_of_administrators(
    administrator: Person, api: TestClient
) -> None:
    home = api.get("/console")
    assert '<a href="/console/admin">Administration</a>' in home.text
    index = api.get("/console/admin?lang=fr")
    assert index.status_code == 200
    assert "Accords" in index.text and "Envois abandonnés" in index.text


def test_an_organisation_is_added_as_the_api_adds_it(
    world: World, administrator: Person, admin: Partner, api: TestClient
) -> None:
    form_page = api.get("/console/admin/organisations/new")
    form = {
        "csrf_token": csrf_of(form_page.text),
        "name": "Association Tadamoun, Agadez",
        "kind": "ngo",
        "services": ["psychosocial_support", "shelter"],
        "country": "ne",
    }
    made = api.post("/console/admin/organisations/new", data=form, follow_redirects=False)
    assert made.status_code == 303, made.text
    shown = api.get(made.headers["location"])
    assert "The organisation was added." in shown.text and "Psychosocial support" in shown.text
    listed = api.get("/v1/organizations", headers=admin.headers).json()["items"]
    [org] = [o for o in listed if o["name"] == "Association Tadamoun, Agadez"]
    assert (org["kind"], org["services"], org["country"]) == (
        "ngo",
        ["psychosocial_support", "shelter"],
        "NE",
    )
    assert org["id"] in made.headers["location"]

    # the same name again, in French: the service's refusal beside the field
    again = api.post("/console/admin/organisations/new?lang=fr", data=form)
    assert again.status_code == 400
    assert "Une organisation de ce nom existe déjà." in again.text
    assert 'href="#name"' in again.text
    in_english(api)
    # a bad country and no kind: the request shape's refusal, each beside its field
    bad = api.post(
        "/console/admin/organisations/new",
        data={"csrf_token": form["csrf_token"], "name": "Other", "country": "Niger"},
    )
    assert bad.status_code == 400
    assert 'href="#kind-0"' in bad.text and 'href="#country"' in bad.text
    assert "two capital letters, for example NE" in bad.text
    # without the form's token nothing is made
    forged = api.post("/console/admin/organisations/new", data={**form, "csrf_token": "x"})
    assert forged.status_code == 403


def _agreement_id(world: World) -> str:
    with world.runtime.sessions() as db:
        return db.scalars(
            select(DataSharingAgreement.id).where(
                DataSharingAgreement.to_organization_id == world.recipient.organization_id
            )
        ).one()


def test_revoking_an_agreement_at_the_console_stops_the_next_referral(
    world: World, administrator: Person, api: TestClient
) -> None:
    case_id = world.case()
    world.consent(case_id)
    assert world.refer(case_id).status_code == 201
    agreement_id = _agreement_id(world)

    listed = api.get("/console/admin/agreements")
    assert f"/console/admin/agreements/{agreement_id}/revoke" in listed.text
    assert "In force" in listed.text and "IOM Agadez" in listed.text
    check = api.get(f"/console/admin/agreements/{agreement_id}/revoke?lang=fr")
    assert check.status_code == 200 and "Révoquer cet accord ?" in check.text
    in_english(api)
    with world.runtime.sessions() as db:
        assert db.get_one(DataSharingAgreement, agreement_id).revoked_at is None
    done = api.post(
        f"/console/admin/agreements/{agreement_id}/revoke",
        data={"csrf_token": csrf_of(check.text), "reason": "The partner closed its office"},
    )
    assert done.status_code == 200 and "The agreement was revoked." in done.text

    refused = world.refer(case_id)
    assert (refused.status_code, refused.json()["code"]) == (422, "consent_denied")
    assert "no_agreement" in refused.text
    with world.runtime.sessions() as db:
        entry = db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "agreement.revoked", AuditEntry.object_id == agreement_id
            )
        ).one()
        assert entry.actor == f"user:{administrator.id}@{administrator.organization_id}"
    # once is enough: the page says so
    again = api.post(
        f"/console/admin/agreements/{agreement_id}/revoke",
        data={"csrf_token": csrf_of(check.text)},
    )
    assert again.status_code == 400 and "This agreement is revoked already." in again.text


def test_an_agreement_is_added_with_its_purposes_and_data(
    world: World, administrator: Person, api: TestClient
) -> None:
    form_page = api.get("/console/admin/agreements/new")
    csrf = csrf_of(form_page.text)
    empty = api.post("/console/admin/agreements/new?lang=fr", data={"csrf_token": csrf})
    assert empty.status_code == 400 and "Il y a un problème" in empty.text
    links = re.findall(r'<li><a href="#([\w-]+)">', empty.text)
    assert links == ["from_organization_id", "to_organization_id", "purposes-0", "categories-0"]
    assert "Choisissez au moins une finalité." in empty.text
    in_english(api)
    bad_date = api.post(
        "/console/admin/agreements/new",
        data={"csrf_token": csrf, "valid_until": "31/12/2027"},
    )
    assert 'href="#valid_until"' in bad_date.text
    backwards = api.post(
        "/console/admin/agreements/new",
        data={
            "csrf_token": csrf,
            "from_organization_id": world.sender.organization_id,
            "to_organization_id": world.outsider.organization_id,
            "purposes": ["shelter"],
            "categories": ["identity"],
            "valid_from": "2030-01-01",
            "valid_until": "2029-12-31",
        },
    )
    assert backwards.status_code == 400 and "The end comes after the start." in backwards.text
    assert 'href="#valid_until"' in backwards.text
    form = {
        "csrf_token": csrf,
        "from_organization_id": world.sender.organization_id,
        "to_organization_id": world.outsider.organization_id,
        "purposes": ["shelter"],
        "categories": ["identity", "contact"],
        "valid_until": "2031-12-31",
    }
    made = api.post("/console/admin/agreements/new", data=form)
    assert made.status_code == 200 and "The agreement was added." in made.text
    with world.runtime.sessions() as db:
        row = db.scalars(
            select(DataSharingAgreement).where(
                DataSharingAgreement.to_organization_id == world.outsider.organization_id
            )
        ).one()
        assert (row.purposes, row.categories) == (["shelter"], ["contact", "identity"])
        assert row.valid_until is not None and row.valid_until.year == 2031
    same = api.post(
        "/console/admin/agreements/new",
        data={**form, "to_organization_id": form["from_organization_id"]},
    )
    assert same.status_code == 400 and "two different organisations" in same.text


def test_people_are_added_with_a_role_and_disabled(
    world: World, administrator: Person, api: TestClient
) -> None:
    form_page = api.get("/console/admin/people/new")
    csrf = csrf_of(form_page.text)
    form = {
        "csrf_token": csrf,
        "email": "New.Worker@Example.org",
        "organization_id": world.sender.organization_id,
        "role": "case_worker",
        "password": "short",
    }
    weak = api.post("/console/admin/people/new?lang=fr", data=form)
    assert weak.status_code == 400 and 'href="#password"' in weak.text
    assert "au moins 12 caractères" in weak.text
    assert 'value="short"' not in weak.text  # the password is never sent back
    in_english(api)
    wrong_role = api.post(
        "/console/admin/people/new",
        data={**form, "organization_id": administrator.organization_id, "password": "x" * 14},
    )
    assert wrong_role.status_code == 400 and 'href="#role-0"' in wrong_role.text
    made = api.post("/console/admin/people/new", data={**form, "password": "a long first password"})
    assert made.status_code == 200 and "The person was added." in made.text
    assert "new.worker@example.org" in made.text
    with world.runtime.sessions() as db:
        user = db.scalars(select(User).where(User.email == "new.worker@example.org")).one()
        assert (user.role, user.organization_id) == ("case_worker", world.sender.organization_id)
        user_id = user.id

    # the new person signs in, then is disabled: their session ends at once
    newcomer = TestClient(api.app)
    sign_in(
        newcomer,
        Person(user_id, "new.worker@example.org", "", "case_worker", "a long first password"),
    )
    assert newcomer.get("/console").status_code == 200
    done = api.post(f"/console/admin/people/{user_id}/disable", data={"csrf_token": csrf})
    assert done.status_code == 200 and "The person was disabled" in done.text
    assert newcomer.get("/console", follow_redirects=False).status_code == 303
    with world.runtime.sessions() as db:
        assert db.get_one(User, user_id).disabled_at is not None
    filtered = api.get(f"/console/admin/people?organisation={world.sender.organization_id}")
    table = filtered.text.split("<table", 1)[1]
    assert "new.worker@example.org" in table and administrator.email not in table
    # nobody disables themselves
    self_disable = api.post(
        f"/console/admin/people/{administrator.id}/disable", data={"csrf_token": csrf}
    )
    assert self_disable.status_code == 409
