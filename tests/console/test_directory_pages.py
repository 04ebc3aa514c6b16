"""The service directory, supervision on the board and the referral report, page by page
(without a browser): the filters narrow the search as GET /v1/services does, an organisation
edits its own services and no other's, the board's tree shows an office below's referral and
none of its data, and the report shows small cells as the API gives them."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.clock import utcnow
from hub.reports import export
from hub.reports import service as reports
from hub.service_directory import service as directory_service
from tests.support import factories
from tests.support.api import Partner, operator, partner
from tests.support.consents import consent_body
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import AGREED, CANARY_NAME, CANARY_NOTE, PURPOSE, World

ARLIT = {
    "service_type": "psychosocial_support",
    "name": "Écoute Arlit — femmes et filles",
    "areas": [{"path": "NE/NE-AG/NE-AG-ARL", "name": "Arlit"}],
    "focal_point": "PSS focal point, +227 90 00 00 00",
    "hours": "Mon-Thu 08:00-16:00",
    "eligibility": {"age_min": 12, "sexes": ["female"]},
    "languages": ["fr", "ha"],
    "capacity": "limited",
    "last_verified_on": "2025-01-10",
}
NIAMEY = {
    "service_type": "psychosocial_support",
    "name": "Soutien psychosocial Niamey",
    "areas": [{"path": "NE/NE-NI", "name": "Niamey"}],
    "languages": ["fr"],
    "capacity": "open",
    "last_verified_on": utcnow().date().isoformat(),
}


def add_service(world: World, who: Partner, body: dict[str, Any]) -> str:
    answer = world.api.post("/v1/services", json=body, headers=who.headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def rows(html: str) -> list[str]:
    return re.findall(r'<a href="/console/services/([0-9a-f]+)">', html)


@pytest.fixture
def directory(world: World) -> dict[str, str]:
    return {
        "arlit": add_service(world, world.recipient, ARLIT),
        "niamey": add_service(world, world.outsider, NIAMEY),
    }


@pytest.fixture
def worker(world: World, api: TestClient) -> Person:
    who = person(world.runtime, world.sender.organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    return who


def test_the_filters_narrow_the_directory(
    world: World, directory: dict[str, str], worker: Person, api: TestClient
) -> None:
    every = api.get("/console/services")
    assert every.status_code == 200
    assert set(rows(every.text)) == set(directory.values())
    for query, expected in (
        ("area=NE-AG", {"arlit"}),  # a region finds its communes
        ("area=NE", {"arlit", "niamey"}),
        ("age=9", {"niamey"}),
        ("sex=male", {"niamey"}),
        ("language=ha", {"arlit"}),
        ("capacity=limited", {"arlit"}),
        ("type=psychosocial_support&area=NE-NI&age=30", {"niamey"}),
    ):
        found = api.get(f"/console/services?{query}")
        assert found.status_code == 200, found.text
        assert set(rows(found.text)) == {directory[k] for k in expected}, query
    wrong = api.get("/console/services?area=NE%20AG&age=old")
    assert wrong.status_code == 400
    assert 'href="#area"' in wrong.text and 'href="#age"' in wrong.text


def test_a_service_page_shows_capacity_and_the_verification_hint(
    world: World, directory: dict[str, str], worker: Person, api: TestClient
) -> None:
    shown = api.get(f"/console/services/{directory['arlit']}?lang=fr")
    assert shown.status_code == 200
    text = shown.text
    assert "Écoute Arlit" in text and "PSS focal point" in text and "haoussa" in text
    assert 'id="verification"' in text  # verified in January 2025: over six months ago
    assert "/capacity" not in text  # a case worker of another organisation edits nothing
    fresh = api.get(f"/console/services/{directory['niamey']}")
    assert 'id="verification"' not in fresh.text


def test_an_organisation_edits_its_own_services_only(
    world: World, directory: dict[str, str], api: TestClient
) -> None:
    admin = person(world.runtime, world.recipient.organization_id, "admin")
    sign_in(api, admin)
    own = api.get(f"/console/services/{directory['arlit']}")
    token = csrf_of(own.text)
    marked = api.post(
        f"/console/services/{directory['arlit']}/capacity",
        data={"csrf_token": token, "capacity": "full"},
        follow_redirects=False,
    )
    assert marked.status_code == 303
    answer = world.api.get(f"/v1/services/{directory['arlit']}", headers=world.sender.headers)
    assert answer.json()["capacity"] == "full"
    # another organisation's service: 404, as the API answers
    theirs = directory["niamey"]
    assert api.get(f"/console/services/{theirs}/edit").status_code == 404
    refused = api.post(
        f"/console/services/{theirs}/capacity",
        data={"csrf_token": token, "capacity": "full"},
        follow_redirects=False,
    )
    assert refused.status_code == 404
    assert (
        api.post(f"/console/services/{theirs}/remove", data={"csrf_token": token}).status_code
        == 404
    )
    answer = world.api.get(f"/v1/services/{theirs}", headers=world.sender.headers)
    assert answer.json()["capacity"] == "open"
    # a new service of its own, then removed
    form = api.get("/console/services/new")
    assert form.status_code == 200 and 'name="organization_id"' not in form.text
    bad = api.post(
        "/console/services/new",
        data={"csrf_token": token, "service_type": "", "name": "", "capacity": "open"},
    )
    assert bad.status_code == 400 and 'href="#name"' in bad.text
    made = api.post(
        "/console/services/new",
        data={
            "csrf_token": token,
            "service_type": "legal_assistance",
            "name": "Clinique juridique Agadez",
            "areas": "NE/NE-AG Agadez",
            "age_min": "18",
            "languages": "fr, tq",
            "capacity": "open",
            "last_verified_on": "2026-11-01",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    made_id = made.headers["location"].split("/")[-1].split("?")[0]
    read = world.api.get(f"/v1/services/{made_id}", headers=world.sender.headers).json()
    assert read["organization_id"] == world.recipient.organization_id
    assert read["areas"][0]["path"] == "NE/NE-AG" and read["eligibility"]["age_min"] == 18
    gone = api.post(
        f"/console/services/{made_id}/remove", data={"csrf_token": token}, follow_redirects=False
    )
    assert gone.status_code == 303
    assert world.api.get(f"/v1/services/{made_id}", headers=world.sender.headers).status_code == 404


def test_a_case_worker_edits_no_service(
    world: World, directory: dict[str, str], worker: Person, api: TestClient
) -> None:
    assert api.get("/console/services/new").status_code == 403
    assert api.get(f"/console/services/{directory['niamey']}/edit").status_code == 403


# -- supervision -------------------------------------------------------------------------------
def office_below(world: World) -> tuple[Partner, str]:
    """An office below the sender, which sends a referral of its own."""
    below = partner(
        world.runtime,
        world.api,
        "IOM Arlit antenna",
        kind="iom_office",
        parent_id=world.sender.organization_id,
    )
    with world.runtime.sessions.begin() as db:
        factories.agreement(
            db,
            world.runtime.policy,
            below.organization_id,
            world.recipient.organization_id,
            [PURPOSE],
            AGREED,
        )
    case = world.api.post(
        "/v1/cases",
        json={
            "external_ref": "MRRM-NE-ARL-0001",
            "subject": {"birth_date": "1990-04-02", "sex": "female"},
            "data": {
                "identity": {"given_name": CANARY_NAME},
                "psychosocial": {"notes": "sleep problems"},
            },
        },
        headers=below.headers,
    )
    assert case.status_code == 201, case.text
    consent = world.api.post(
        f"/v1/cases/{case.json()['id']}/consents",
        json=consent_body(purposes=[PURPOSE]),
        headers=below.headers,
    )
    assert consent.status_code == 201, consent.text
    sent = world.api.post(
        "/v1/referrals",
        json=world.body(case.json()["id"], categories=["identity", "psychosocial"]),
        headers=below.headers,
    )
    assert sent.status_code == 201, sent.text
    return below, str(sent.json()["id"])


def test_the_board_shows_the_offices_below_and_no_data(
    world: World, worker: Person, api: TestClient
) -> None:
    own = world.sent()
    _, theirs = office_below(world)
    mine = api.get("/console/board")
    assert mine.status_code == 200
    assert 'id="show-tree"' in mine.text and theirs not in mine.text
    tree = api.get("/console/board?scope=tree")
    assert tree.status_code == 200
    assert f"/console/board/below/referrals/{theirs}" in tree.text
    assert f"/console/board/referrals/{own}" in tree.text
    assert "IOM Arlit antenna" in tree.text
    opened = api.get(f"/console/board/below/referrals/{theirs}")
    assert opened.status_code == 200
    for page in (tree.text, opened.text):
        assert CANARY_NAME not in page and CANARY_NOTE not in page
        assert "MRRM-NE-ARL-0001" not in page and "sleep problems" not in page
    # the office's own referral is not read through supervision, nor is another's
    assert api.get(f"/console/board/below/referrals/{own}").status_code == 404


def test_an_office_below_does_not_see_the_office_above(world: World, api: TestClient) -> None:
    below, _ = office_below(world)
    above = world.sent()
    who = person(world.runtime, below.organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    board = api.get("/console/board?scope=tree")
    assert board.status_code == 200 and 'id="show-tree"' not in board.text
    assert above not in board.text
    assert api.get(f"/console/board/below/referrals/{above}").status_code == 404


# -- the report --------------------------------------------------------------------------------
def test_the_report_shows_small_cells_as_the_api_gives_them(world: World, api: TestClient) -> None:
    for _ in range(6):
        world.sent()
    for _ in range(5):
        world.sent(urgency="emergency")
    world.sent(urgency="high")
    officer = person(world.runtime, world.sender.organization_id, "consent_officer")
    sign_in(api, officer)
    month = utcnow().strftime("%Y-%m")
    query = f"run=1&period=month&month={month}&group_by=urgency"
    page = api.get(f"/console/reports?{query}")
    assert page.status_code == 200, page.text
    counts = page.text[page.text.index('id="counts"') :]
    cells = dict(
        re.findall(
            r'<td data-label="Urgency">([^<]+)</td><td[^>]*>(?:<span[^>]*>)?([^<]+)<', counts
        )
    )
    # one high: "<5"; then the five emergencies hidden too, so the total cannot give it away
    assert cells == {"High": "&lt;5", "Emergency": "*", "Normal": "6"}
    api_answer = world.api.get(
        "/v1/reports/referrals",
        params={"group_by": "urgency"},
        headers=world.sender.headers,
    ).json()
    assert {r["values"]["urgency"]: r["count"] for r in api_answer["rows"]} == {
        "high": "<5",
        "emergency": "*",
        "normal": 6,
    }
    assert 'id="suppression"' in page.text
    download = api.get(f"/console/reports/referrals.csv?{query}&lang=fr")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(download.text)))
    assert table[0] == ["rubrique", "élément", "valeur"]
    assert ["Orientations", "Urgence: Élevée", "<5"] in table
    with world.runtime.sessions.begin() as db:
        start, end = reports.month_range(month)
        same = reports.report(
            db=db,
            policy=world.runtime.policy,
            organization_id=world.sender.organization_id,
            start=start,
            end=end,
            group_by=reports.parse_group_by("urgency"),
        )
        expected = export.to_csv(same, export.Labels(world.runtime.policy, "fr", {}), "fr")
    assert download.text == expected


def test_a_case_worker_reads_no_report(world: World, worker: Person, api: TestClient) -> None:
    assert api.get("/console/reports").status_code == 403
    assert api.get("/console/reports/referrals.csv?run=1").status_code == 403
    assert 'href="/console/reports"' not in api.get("/console").text


# -- a referral to a service of the directory ----------------------------------------------------
def test_a_referral_names_a_service_and_says_why_when_it_is_full(
    world: World, directory: dict[str, str], worker: Person, api: TestClient
) -> None:
    arlit = directory["arlit"]
    marked = world.api.patch(
        f"/v1/services/{arlit}", json={"capacity": "full"}, headers=world.recipient.headers
    )
    assert marked.status_code == 200, marked.text
    case_id = world.case()
    world.consent(case_id)
    chooser = api.get(
        f"/console/cases/{case_id}/refer/recipient", params={"service_type": "psychosocial_support"}
    )
    assert f'value="{arlit}"' in chooser.text
    # the service of another organisation than the one chosen: said in words
    form: dict[str, Any] = {
        "csrf_token": csrf_of(chooser.text),
        "service_type": "psychosocial_support",
        "to_organization_id": world.recipient.organization_id,
        "service_id": directory["niamey"],
        "categories": ["identity", "psychosocial"],
    }
    mismatch = api.post(f"/console/cases/{case_id}/refer/check", data=form)
    assert mismatch.status_code == 400 and "not offered by the organisation" in mismatch.text
    # the full one, its organisation implied: the directory's refusal, in words
    form.update(service_id=arlit, to_organization_id="")
    full = api.post(f"/console/cases/{case_id}/refer/check", data=form)
    assert full.status_code == 422, full.text
    assert "This service is full" in full.text and 'name="override_reason"' in full.text
    empty = api.post(f"/console/cases/{case_id}/refer/check", data={**form, "override_reason": ""})
    assert empty.status_code == 422 and 'href="#override_reason"' in empty.text
    why = "The focal point agreed by phone to take her this week."
    form.update(override_reason=why, to_organization_id=world.recipient.organization_id)
    checked = api.post(f"/console/cases/{case_id}/refer/check", data=form)
    assert checked.status_code == 200, checked.text
    assert why in checked.text and "Écoute Arlit" in checked.text
    sent = api.post(
        f"/console/cases/{case_id}/refer/send",
        data={**form, "csrf_token": csrf_of(checked.text), "urgency": "normal", "note": ""},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    referral_id = sent.headers["location"].split("/")[-2]
    read = world.get(referral_id, world.sender).json()
    assert read["service_id"] == arlit and read["service_override"] == ["service_full"]


def test_the_hubs_administrators_add_a_service_for_any_organisation(
    world: World, api: TestClient
) -> None:
    hub = operator(world.runtime, world.api)
    admin = person(world.runtime, hub.organization_id, "admin")
    sign_in(api, admin)
    form = api.get("/console/services/new")
    assert form.status_code == 200 and 'name="organization_id"' in form.text
    fields = {
        "csrf_token": csrf_of(form.text),
        "service_type": "shelter",
        "name": "Abri temporaire Agadez",
        "capacity": "open",
    }
    unnamed = api.post("/console/services/new", data=fields)
    assert unnamed.status_code == 400 and 'href="#organization_id"' in unnamed.text
    made = api.post(
        "/console/services/new",
        data={**fields, "organization_id": world.outsider.organization_id},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    made_id = made.headers["location"].split("/")[-1].split("?")[0]
    read = world.api.get(f"/v1/services/{made_id}", headers=world.sender.headers).json()
    assert read["organization_id"] == world.outsider.organization_id
    assert api.get("/console/reports").status_code == 403  # the operator's is `hub report`


@pytest.mark.parametrize(
    ("verified", "today", "due"),
    [
        (None, date(2026, 11, 29), True),
        (date(2026, 5, 29), date(2026, 11, 29), False),
        (date(2026, 5, 28), date(2026, 11, 29), True),
        (date(2026, 2, 28), date(2026, 8, 31), False),  # six months before 31 August
        (date(2026, 2, 27), date(2026, 8, 31), True),
    ],
)
def test_an_entry_is_due_for_verification_after_the_policys_months(
    world: World, verified: date | None, today: date, due: bool
) -> None:
    assert world.runtime.policy.service_directory.verify_every_months == 6
    assert directory_service.verification_due(world.runtime.policy, verified, today) is due
