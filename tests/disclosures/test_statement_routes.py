"""GET /v1/cases/{id}/disclosures?format=pdf&lang=: the beneficiary's statement as PDF, for the
case's owner only, read back with pypdf; and the canary: a category withheld from every
recipient has its value nowhere in the PDF, the JSON or the console's page."""

from __future__ import annotations

import io
import re

import httpx
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.support.api import client_for
from tests.support.people import person, sign_in
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World

# the value of a category asked for but covered by no consent: it never leaves the hub
WITHHELD = "Canary status: Ozymandre Quellinet, appeal at Niamey"


def text_of(answer: httpx.Response) -> str:
    """The PDF's text as a reader sees it (pypdf: nothing of fpdf2's)."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(answer.content))
    # the PDF's own title is the statement's, not a name
    assert reader.metadata is not None and "Zanibetta" not in str(reader.metadata.title)
    return "\n".join(page.extract_text() for page in reader.pages)


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def disclosed(world: World) -> str:
    """A case whose referral was read by the recipient: identity, contact and psychosocial
    left; legal_status was asked for too, but the consent does not cover it."""
    case_id = world.case(
        {
            "identity": {"given_name": CANARY_NAME, "family_name": "Moussa"},
            "contact": {"phone": "+227 90 00 00 00"},
            "psychosocial": {"notes": "sleep problems"},
            "legal_status": {"status": WITHHELD},
        }
    )
    world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]
    got = world.get(referral_id, world.recipient).json()
    assert "legal_status" not in got["payload"]  # the gate withheld it
    return case_id


def test_the_statement_as_pdf_in_english_and_french(world: World) -> None:
    case_id = disclosed(world)
    path = f"/v1/cases/{case_id}/disclosures"
    english = world.api.get(path, params={"format": "pdf"}, headers=world.sender.headers)
    assert english.headers["cache-control"] == "no-store"
    assert re.fullmatch(
        r'attachment; filename="statement-MRRM-NE-[0-9a-f]{8}\.pdf"',
        english.headers["content-disposition"],
    )
    words = plain(text_of(english))
    assert "Statement of disclosures" in words
    assert "Partner NGO" in words and "Psychosocial support" in words
    for label in ("Identity", "Contact details", "Psychosocial"):
        assert label in words
    assert "Given by you on" in words and "Written, version 1" in words
    assert "Legal status" not in words  # withheld: not listed as received
    assert "Page 1 of 1" in words

    french = world.api.get(
        path, params={"format": "pdf", "lang": "fr"}, headers=world.sender.headers
    )
    words = plain(text_of(french))
    # accents survive: the font is Unicode, not fpdf2's Latin-1 core fonts
    assert "Relevé des communications" in words
    assert "Données communiquées" in words and "Coordonnées" in words
    assert "Soutien psychosocial" in words and "Donné par vous le" in words
    assert re.search(
        r"\d{1,2} (janv|févr|mars|avr|mai|juin|juil|août|sept|oct|nov|déc)\.? 20\d\d", words
    )
    assert "Page 1 sur 1" in words


def test_json_stays_the_accounting(world: World) -> None:
    case_id = disclosed(world)
    path = f"/v1/cases/{case_id}/disclosures"
    plain_answer = world.api.get(path, headers=world.sender.headers)
    as_json = world.api.get(path, params={"format": "json"}, headers=world.sender.headers)
    assert plain_answer.status_code == as_json.status_code == 200
    assert plain_answer.headers["content-type"] == "application/json"
    assert as_json.json()["items"] == plain_answer.json()["items"]
    assert set(plain_answer.json()["items"][0]) >= {"recipient_organization_id", "categories"}


def test_a_wrong_format_or_language_is_a_problem(world: World) -> None:
    case_id = world.case()
    path = f"/v1/cases/{case_id}/disclosures"
    for params, code in (
        ({"format": "docx"}, "unsupported_format"),
        ({"format": "pdf", "lang": "de"}, "unsupported_language"),
        ({"lang": "xx"}, "unsupported_language"),
    ):
        answer = world.api.get(path, params=params, headers=world.sender.headers)
        assert answer.status_code == 422, params
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == code


def test_only_the_owner_with_cases_read(world: World) -> None:
    case_id = disclosed(world)
    path = f"/v1/cases/{case_id}/disclosures"
    for who in (world.recipient, world.outsider):
        answer = world.api.get(path, params={"format": "pdf"}, headers=who.headers)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    narrow = client_for(
        world.runtime, world.api, world.sender.organization_id, scope="referrals:read"
    )
    answer = world.api.get(path, params={"format": "pdf"}, headers=narrow.headers)
    assert answer.status_code == 403


def test_a_withheld_categorys_value_is_nowhere(world: World, api: TestClient) -> None:
    """The canary: legal_status was withheld from every recipient; its value is in no output
    of the statement (the PDF in both languages, the JSON, the console's page and PDF)."""
    case_id = disclosed(world)
    path = f"/v1/cases/{case_id}/disclosures"
    outputs = [
        world.api.get(path, headers=world.sender.headers).text,
        text_of(world.api.get(path, params={"format": "pdf"}, headers=world.sender.headers)),
        text_of(
            world.api.get(
                path, params={"format": "pdf", "lang": "fr"}, headers=world.sender.headers
            )
        ),
    ]
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    sign_in(api, worker)
    for language in ("en", "fr"):
        page = api.get(f"/console/cases/{case_id}/statement", params={"lang": language})
        assert page.status_code == 200 and "Partner NGO" in page.text
        outputs.append(page.text)
        outputs.append(
            text_of(api.get(f"/console/cases/{case_id}/statement.pdf", params={"lang": language}))
        )
    for output in outputs:
        for secret in (WITHHELD, "Ozymandre", CANARY_NAME, CANARY_NOTE):
            assert secret not in output
    # the canary can sing: the value is in the case, readable by its owner
    held = world.api.get(f"/v1/cases/{case_id}", headers=world.sender.headers)
    assert WITHHELD in held.text
