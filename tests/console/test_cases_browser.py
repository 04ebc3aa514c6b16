"""The case worker registers a case in a real browser, in English and in French: the form with
one mistake (the summary links to the field, the message sits beside it), corrected; check the
answers; the case's page; the case in the list, found by its reference. Every page passes the
accessibility check and fits a 360-pixel screen; no name in a title or an address.

Screenshots of each page go to the run's screenshot folder (printed at the end of the run).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.browser import sign_in_page
from tests.support.people import person
from tests.support.referral_world import World

pytestmark = pytest.mark.browser

PAGE_LIMIT = 100 * 1024
GIVEN, FAMILY = "Mariama", "Djibrilla"
WORDS = {
    "en": {
        "nav": "Cases",
        "register": "Register a case",
        "continue": "Continue",
        "problem": "There is a problem",
        "bad_date": "Enter the date of birth, for example 2010-03-14.",
        "check": "Check your answers",
        "confirm": "Register the case",
        "registered": "Case registered",
        "identity": "Identity",
        "psychosocial": "Psychosocial",
        "apply": "Apply the filters",
        "female": "Female",
    },
    "fr": {
        "nav": "Dossiers",
        "register": "Enregistrer un dossier",
        "continue": "Continuer",
        "problem": "Il y a un problème",
        "bad_date": "Saisissez la date de naissance, par exemple 2010-03-14.",
        "check": "Vérifiez vos réponses",
        "confirm": "Enregistrer le dossier",
        "registered": "Dossier enregistré",
        "identity": "Identité",
        "psychosocial": "Psychosocial",
        "apply": "Appliquer les filtres",
        "female": "Féminin",
    },
}


def _fits(page: Any, screenshot: Callable[[Any, str], None], name: str) -> None:
    """The page on a small phone: nothing runs off the side."""
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot(page, f"{name}-360px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1280, "height": 900})


def _no_name(page: Any) -> None:
    assert GIVEN not in page.title() and FAMILY not in page.title()
    assert GIVEN not in page.url and FAMILY not in page.url


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_case_worker_registers_a_case(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
    allow_console: list[Any],
) -> None:
    allow_console.append(re.compile("status of 400"))
    words = WORDS[language]
    base = live_hub.url
    reference = f"MRRM-NE-{uuid.uuid4().hex[:6].upper()}"
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    tag = f"{language}-cases"

    page = new_page(locale="fr-FR" if language == "fr" else "en-GB")
    sign_in_page(page, base, worker)
    assert page.locator("html").get_attribute("lang") == language

    # the list, empty, from the navigation
    page.locator("nav.main-nav").get_by_role("link", name=words["nav"]).click()
    page.wait_for_url(f"{base}/console/cases")
    axe_check(page)
    screenshot(page, f"{tag}-01-list-empty")
    page.get_by_role("link", name=words["register"]).click()
    page.wait_for_url(f"{base}/console/cases/new")
    axe_check(page)
    screenshot(page, f"{tag}-02-form")
    _fits(page, screenshot, f"{tag}-02-form")

    # the form, with a date of birth written the wrong way
    page.fill("#external_ref", reference)
    page.fill("#birth_date", "14/03/2010")
    page.check("#sex-female")
    page.fill("#identity-given_name", GIVEN)
    page.fill("#identity-family_name", FAMILY)
    page.fill("#contact-phone", "+227 90 12 34 56")
    page.fill("#psychosocial-notes", "Dort mal." if language == "fr" else "Sleeps badly.")
    page.get_by_role("button", name=words["continue"]).click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    assert words["problem"] in summary.inner_text()
    assert summary.get_by_role("link", name=words["bad_date"]).get_attribute("href") == (
        "#birth_date"
    )
    assert page.locator("#birth_date-error").inner_text().strip() == words["bad_date"]
    assert page.input_value("#identity-family_name") == FAMILY  # what was typed is kept
    axe_check(page)
    screenshot(page, f"{tag}-03-form-error")
    _no_name(page)
    # the summary's link takes the person to the field
    summary.get_by_role("link", name=words["bad_date"]).click()
    assert page.evaluate("document.activeElement.id") in ("birth_date", "main", "")
    page.fill("#birth_date", "2010-03-14")
    page.get_by_role("button", name=words["continue"]).click()
    page.wait_for_load_state()

    # check your answers
    assert page.locator("h1").inner_text() == words["check"]
    assert FAMILY in page.content() and words["female"] in page.content()
    _no_name(page)
    axe_check(page)
    screenshot(page, f"{tag}-04-check")
    _fits(page, screenshot, f"{tag}-04-check")
    page.get_by_role("button", name=words["confirm"]).click()
    page.wait_for_url(re.compile(rf"{base}/console/cases/\w+\?registered=1$"))

    # the case's page: the record in sections, names here only
    assert words["registered"] in page.content()
    assert reference in page.locator("h1").inner_text()
    sections = page.locator("section.card h3").all_inner_texts()
    assert words["identity"] in sections and words["psychosocial"] in sections
    assert GIVEN in page.content()
    _no_name(page)
    axe_check(page)
    screenshot(page, f"{tag}-05-case")
    _fits(page, screenshot, f"{tag}-05-case")
    assert page_weight(page, page.url) < PAGE_LIMIT
    case_url = page.url.split("?")[0]

    # the list, searched by part of the reference
    page.locator("nav.main-nav").get_by_role("link", name=words["nav"]).click()
    page.wait_for_url(f"{base}/console/cases")
    page.fill("#reference", reference[-4:].lower())
    page.get_by_role("button", name=words["apply"]).click()
    page.wait_for_url(re.compile(rf"{base}/console/cases\?.*"))
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 1 and reference in rows.inner_text()
    assert GIVEN not in page.content() and FAMILY not in page.content()
    _no_name(page)
    axe_check(page)
    screenshot(page, f"{tag}-06-list")
    _fits(page, screenshot, f"{tag}-06-list")
    page.get_by_role("link", name=reference).click()
    page.wait_for_url(case_url)

    # a case with a consent and a referral: the tables of its page
    busy = world.case()
    world.consent(busy)
    assert world.refer(busy).status_code == 201
    page.goto(f"{base}/console/cases/{busy}")
    assert page.locator("table.queue").count() == 2  # its consents and its referrals
    axe_check(page)
    screenshot(page, f"{tag}-07-case-referred")
    _fits(page, screenshot, f"{tag}-07-case-referred")
