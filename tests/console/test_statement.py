"""The beneficiary's statement at the console: the list of the office's cases, the page, its
PDF, who may see them, and what never shows (names in titles or URLs)."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.support.people import person, sign_in
from tests.support.referral_world import CANARY_NAME, World


def read_by_partner(world: World) -> str:
    case_id = world.case()
    world.consent(case_id)
    world.get(world.refer(case_id).json()["id"], world.recipient)
    return case_id


def signed_in(world: World, api: TestClient, role: str = "case_worker") -> None:
    sign_in(api, person(world.runtime, world.sender.organization_id, role))


def title_of(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1)


def test_the_statement_page_in_english_and_french(world: World, api: TestClient) -> None:
    case_id = read_by_partner(world)
    signed_in(world, api)
    reference = world.api.get(f"/v1/cases/{case_id}", headers=world.sender.headers).json()[
        "external_ref"
    ]
    page = api.get(f"/console/cases/{case_id}/statement")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert title_of(page.text).startswith("Statement of disclosures")
    assert reference not in title_of(page.text) and CANARY_NAME not in page.text
    for words in ("Partner NGO", "Psychosocial support", "Contact details", "Given by you on"):
        assert words in page.text
    assert f'href="/console/cases/{case_id}/statement.pdf?lang=fr"' in page.text
    assert reference in page.text  # the case, by its reference, in the body

    french = api.get(f"/console/cases/{case_id}/statement", params={"lang": "fr"})
    assert title_of(french.text).startswith("Relevé des communications")
    assert '<html lang="fr">' in french.text
    assert "Soutien psychosocial" in french.text and "Coordonnées" in french.text
    assert "Statement of disclosures" not in french.text


def test_the_pdf_follows_the_language_asked(world: World, api: TestClient) -> None:
    case_id = read_by_partner(world)
    signed_in(world, api)
    for language, title in (
        ("en", "Statement of disclosures"),
        ("fr", "Relevé des communications"),
    ):
        answer = api.get(f"/console/cases/{case_id}/statement.pdf", params={"lang": language})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-disposition"].startswith('attachment; filename="statement-')
        text = PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()
        assert title in text


def test_the_list_leads_to_each_cases_statement(world: World, api: TestClient) -> None:
    case_id = read_by_partner(world)
    signed_in(world, api)
    home = api.get("/console")
    assert 'href="/console/statements"' in home.text
    listing = api.get("/console/statements")
    assert listing.status_code == 200
    assert f'href="/console/cases/{case_id}/statement"' in listing.text
    assert CANARY_NAME not in listing.text
    french = api.get("/console/statements", params={"lang": "fr"})
    assert "Relevés des communications" in french.text


def test_another_organisations_case_is_not_found(world: World, api: TestClient) -> None:
    case_id = read_by_partner(world)
    # a case worker of the recipient: the case was shared with them, but is not theirs
    sign_in(api, person(world.runtime, world.recipient.organization_id, "case_worker"))
    for path in (
        f"/console/cases/{case_id}/statement",
        f"/console/cases/{case_id}/statement.pdf",
    ):
        answer = api.get(path)
        assert answer.status_code == 404 and "Page not found" in answer.text


def test_signed_out_goes_to_sign_in(world: World, api: TestClient) -> None:
    case_id = read_by_partner(world)
    answer = api.get(f"/console/cases/{case_id}/statement", follow_redirects=False)
    assert answer.status_code in (302, 303, 307)
    assert "/console/sign-in" in answer.headers["location"]
