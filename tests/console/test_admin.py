"""The administrators' pages, on a world made the real way: who may open them (the hub
operator's administrators only), and that each form does what the API does, in English and
French."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.auth.models import OAuthClient
from hub.delivery.models import Delivery
from hub.organizations.models import DataSharingAgreement, Organization
from hub.runtime import Runtime
from hub.users.models import User
from tests.support.api import Partner, operator, token_for
from tests.support.dead_deliveries import attempt, dead_referral
from tests.support.loopback_partners import receiver, settings
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World
from tests.support.webhook_receiver import WebhookReceiver

__all__ = ["receiver", "settings"]

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


@pytest.fixture
def admin(runtime: Runtime, api: TestClient) -> Partner:
    """The hub operator's API client (holding `admin`)."""
    return operator(runtime, api)


@pytest.fixture
def administrator(world: World, admin: Partner, api: TestClient) -> Person:
    """An administrator of the hub's operator, signed in at the console (second factor)."""
    who = person(world.runtime, admin.organization_id, "admin")
    sign_in(api, who)
    return who


def in_english(api: TestClient) -> None:
    """Back to English after a page asked for in French (`?lang=` is remembered)."""
    assert api.get("/console?lang=en").status_code == 200


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


def test_a_clients_secret_is_shown_once_and_works(
    world: World, administrator: Person, api: TestClient
) -> None:
    org = world.recipient.organization_id
    clients_page = api.get(f"/console/admin/organisations/{org}/clients")
    assert clients_page.status_code == 200
    assert 'value="admin"' not in clients_page.text  # a partner's client never holds it
    assert "Read referrals sent or received" in clients_page.text
    csrf = csrf_of(clients_page.text)
    none = api.post(
        f"/console/admin/organisations/{org}/clients?lang=fr", data={"csrf_token": csrf}
    )
    assert none.status_code == 400 and "Choisissez au moins une permission." in none.text
    in_english(api)
    made = api.post(
        f"/console/admin/organisations/{org}/clients",
        data={"csrf_token": csrf, "name": "Case system", "scope": ["referrals:read", "cases:read"]},
    )
    assert made.status_code == 200, made.text
    secret = re.search(r'<code class="secret" id="client-secret">([^<]+)</code>', made.text)
    assert secret, made.text
    with world.runtime.sessions() as db:
        client = db.scalars(
            select(OAuthClient).where(
                OAuthClient.organization_id == org, OAuthClient.name == "Case system"
            )
        ).one()
        assert client.scope == "referrals:read cases:read"
        assert secret.group(1) not in (client.secret_hash or "")
    assert token_for(api, client.client_id, secret.group(1))  # the secret works
    # never again: not in the list, not in the organisation's page, not in the audit log
    for path in (
        f"/console/admin/organisations/{org}/clients",
        f"/console/admin/organisations/{org}",
    ):
        page = api.get(path)
        assert secret.group(1) not in page.text
    assert client.client_id in api.get(f"/console/admin/organisations/{org}/clients").text
    with world.runtime.sessions() as db:
        for entry in db.scalars(select(AuditEntry)):
            assert secret.group(1) not in str(entry.details)

    revoked = api.post(
        f"/console/admin/organisations/{org}/clients/{client.client_id}/revoke",
        data={"csrf_token": csrf},
    )
    assert revoked.status_code == 200 and "The client was revoked" in revoked.text
    refused = api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, secret.group(1)),
    )
    assert refused.status_code == 401
    # a client of another organisation is not found under this one
    other = world.outsider.organization_id
    elsewhere = api.post(
        f"/console/admin/organisations/{other}/clients/{world.sender.client_id}/revoke",
        data={"csrf_token": csrf},
    )
    assert elsewhere.status_code == 404


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


def test_a_delivery_channel_is_seen_and_changed(
    world: World, administrator: Person, admin: Partner, api: TestClient, receiver: WebhookReceiver
) -> None:
    org = world.recipient.organization_id
    page = api.get(f"/console/admin/organisations/{org}/channel")
    assert page.status_code == 200 and "Inbox" in page.text
    csrf = csrf_of(page.text)
    no_url = api.post(
        f"/console/admin/organisations/{org}/channel?lang=fr",
        data={"csrf_token": csrf, "kind": "webhook"},
    )
    assert no_url.status_code == 400 and "Il y a un problème" in no_url.text
    in_english(api)
    unsafe = api.post(
        f"/console/admin/organisations/{org}/channel",
        data={"csrf_token": csrf, "kind": "webhook", "url": "http://10.0.0.1/hook"},
    )
    assert unsafe.status_code == 400 and 'href="#url"' in unsafe.text
    secret = "a-partner-hmac-key-of-32-bytes!!"
    saved = api.post(
        f"/console/admin/organisations/{org}/channel",
        data={"csrf_token": csrf, "kind": "webhook", "url": receiver.url, "secret": secret},
    )
    assert saved.status_code == 200 and "The channel was saved." in saved.text
    assert secret not in saved.text
    channel = api.get(f"/v1/organizations/{org}/channel", headers=admin.headers).json()
    assert (channel["kind"], channel["url"], channel["signing"]) == (
        "webhook",
        receiver.url,
        "hmac",
    )


def test_a_dead_delivery_is_listed_with_why_and_redelivered(
    world: World, administrator: Person, admin: Partner, api: TestClient, receiver: WebhookReceiver
) -> None:
    delivery = dead_referral(world, admin, receiver)
    listed = api.get("/console/admin/deliveries")
    assert listed.status_code == 200
    assert delivery.id in listed.text and "PermanentError: http_error" in listed.text
    assert "system answered with an error" in listed.text  # the code in plain words
    assert "Partner NGO" in listed.text and "IOM Agadez" in listed.text
    # no payload, nothing about the person
    assert CANARY_NAME not in listed.text and CANARY_NOTE not in listed.text
    french = api.get("/console/admin/deliveries?lang=fr")
    assert "Relancer l'envoi" in french.text and "Cause de l'échec" in french.text
    in_english(api)

    done = api.post(
        f"/console/admin/deliveries/{delivery.id}/redeliver",
        data={"csrf_token": csrf_of(listed.text)},
    )
    assert done.status_code == 200 and "The delivery was queued again." in done.text
    assert delivery.id not in done.text.split("</h1>")[1]
    with world.runtime.sessions() as db:
        assert db.get_one(Delivery, delivery.id).status == "pending"
    assert attempt(world.runtime) == ["done"]
    assert receiver.ids() == {delivery.id}
    with world.runtime.sessions() as db:
        assert db.get_one(Delivery, delivery.id).status == "delivered"
    # twice: the service's own answer
    again = api.post(
        f"/console/admin/deliveries/{delivery.id}/redeliver",
        data={"csrf_token": csrf_of(listed.text)},
    )
    assert again.status_code == 409
