"""A case worker, in a real browser, in English and in French: registers an unaccompanied
child of "about 15" (the form takes an estimated age, the pages show it as one); then closes a
case with an open referral (the page lists it, asks cancel or keep, and the coded reason; the
summary links to what was left out), sees the case closed and its referral cancelled, and
reopens it. Every page passes the accessibility check and fits a 360-pixel screen.

Screenshots of each page go to the run's screenshot folder (printed at the end of the run).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from hub.referrals.models import Referral
from tests.support.browser import sign_in_page
from tests.support.people import person
from tests.support.referral_world import World

pytestmark = pytest.mark.browser

WORDS = {
    "en": {
        "continue": "Continue",
        "about": "about 15",
        "confirm": "Register the case",
        "close": "Close the case",
        "problem": "There is a problem",
        "choose_referral": "Choose whether to cancel or keep this referral.",
        "choose_reason": "Choose why the case is closed.",
        "cancel_it": "Cancel it",
        "goals_met": "The case plan's goals are met",
        "closed": "Case closed",
        "closed_tag": "Closed",
        "cancelled": "Cancelled",
        "reopen": "Reopen the case",
        "reopened": "Case reopened",
        "refer": "Refer",
        "year": "born in 2010",
    },
    "fr": {
        "continue": "Continuer",
        "about": "vers 15 ans",
        "confirm": "Enregistrer le dossier",
        "close": "Clôturer le dossier",
        "problem": "Il y a un problème",
        "choose_referral": "Choisissez d'annuler ou de maintenir cette orientation.",
        "choose_reason": "Choisissez le motif de clôture du dossier.",
        "cancel_it": "Annuler",
        "goals_met": "Les objectifs du plan de gestion de cas sont atteints",
        "closed": "Dossier clôturé",
        "closed_tag": "Clôturé",
        "cancelled": "Annulée",
        "reopen": "Rouvrir le dossier",
        "reopened": "Dossier rouvert",
        "refer": "Orienter",
        "year": "né(e) en 2010",
    },
}


def _fits(page: Any, screenshot: Callable[[Any, str], None], name: str) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot(page, f"{name}-360px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("language", ["en", "fr"])
def test_estimated_age_close_and_reopen(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    allow_console: list[Any],
) -> None:
    allow_console.append(re.compile("status of 400"))
    words = WORDS[language]
    base = live_hub.url
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    tag = f"{language}-closing"

    page = new_page(locale="fr-FR" if language == "fr" else "en-GB")
    sign_in_page(page, base, worker)

    # an unaccompanied child of "about 15": no date of birth, an estimated age
    page.goto(f"{base}/console/cases/new")
    page.fill("#external_ref", f"ENAS-{uuid.uuid4().hex[:6].upper()}")
    page.fill("#estimated_age", "15")
    page.check("#sex-male")
    page.fill("#identity-given_name", "Moussa")
    page.get_by_role("button", name=words["continue"]).click()
    page.wait_for_load_state()
    assert words["about"] in page.locator("dl.summary").first.inner_text()
    axe_check(page)
    screenshot(page, f"{tag}-01-check-estimated-age")
    page.get_by_role("button", name=words["confirm"]).click()
    page.wait_for_url(re.compile(rf"{base}/console/cases/\w+\?registered=1$"))
    assert words["about"] in page.locator("dl.summary").first.inner_text()
    axe_check(page)
    screenshot(page, f"{tag}-02-case-estimated-age")

    # a birth year only (through the API): shown as the year
    born = world.api.post(
        "/v1/cases",
        json={
            "external_ref": f"YEAR-{uuid.uuid4().hex[:6]}",
            "subject": {"birth_date": "2010", "birth_date_precision": "year", "sex": "female"},
        },
        headers=world.sender.headers,
    )
    assert born.status_code == 201, born.text
    page.goto(f"{base}/console/cases/{born.json()['id']}")
    assert words["year"] in page.locator("dl.summary").first.inner_text()

    # a case with an open referral: closing asks about it
    busy = world.case()
    world.consent(busy)
    referred = world.refer(busy)
    assert referred.status_code == 201, referred.text
    referral_id = referred.json()["id"]
    page.goto(f"{base}/console/cases/{busy}")
    page.get_by_role("link", name=words["close"]).click()
    page.wait_for_url(f"{base}/console/cases/{busy}/close")
    assert page.locator(f"#request-{referral_id}-cancel").count() == 1
    axe_check(page)
    screenshot(page, f"{tag}-03-close")
    _fits(page, screenshot, f"{tag}-03-close")

    # nothing chosen: the summary links to each question
    page.locator("form button.button-warning").click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    assert words["problem"] in summary.inner_text()
    assert summary.get_by_role("link", name=words["choose_referral"]).get_attribute("href") == (
        f"#request-{referral_id}-cancel"
    )
    assert summary.get_by_role("link", name=words["choose_reason"]).count() == 1
    axe_check(page)
    screenshot(page, f"{tag}-04-close-errors")

    page.check(f"#request-{referral_id}-cancel")
    page.get_by_label(words["goals_met"]).check()
    page.fill("#note-field", "Objectifs atteints." if language == "fr" else "Goals reached.")
    page.locator("form button.button-warning").click()
    page.wait_for_url(f"{base}/console/cases/{busy}?closed=1")
    content = page.content()
    assert words["closed"] in content and words["goals_met"] in content
    # its consents, then its referrals: the referral cancelled as its sender would
    assert words["cancelled"] in page.locator("table.queue").nth(1).inner_text()
    # no new referral from a closed case
    assert page.get_by_role("link", name=words["refer"], exact=True).count() == 0
    axe_check(page)
    screenshot(page, f"{tag}-05-closed")
    _fits(page, screenshot, f"{tag}-05-closed")
    with world.runtime.sessions.begin() as db:
        assert db.get_one(Referral, referral_id).status == "cancelled"

    page.get_by_role("button", name=words["reopen"]).click()
    page.wait_for_url(f"{base}/console/cases/{busy}?reopened=1")
    assert words["reopened"] in page.content()
    assert page.get_by_role("link", name=words["refer"], exact=True).count() == 1
    axe_check(page)
    screenshot(page, f"{tag}-06-reopened")
