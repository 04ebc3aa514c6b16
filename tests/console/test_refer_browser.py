"""The case worker's Refer flow in a real browser, in English and in French: find the case,
choose the service, the recipient and the data, check before sending (a category withheld,
named, its value nowhere in the page), send, and read the confirmation.

Screenshots of each page go to the run's screenshot folder (printed at the end of the run).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from hub.cases.models import Case
from hub.referrals.models import Referral
from tests.support.browser import sign_in_page
from tests.support.people import person
from tests.support.referral_world import CANARY_NAME, World

pytestmark = pytest.mark.browser

PAGE_LIMIT = 100 * 1024
# the case's legal status: the consent does not cover it, so the gate withholds it
WITHHELD_VALUE = "irregular"
WORDS = {
    "en": {
        "nav": "Refer a case",
        "find": "Find the case",
        "continue": "Continue",
        "check": "Check before sending",
        "can_send": "It can be sent now",
        "withheld": "What is withheld, and why",
        "legal_status": "Legal status",
        "send": "Send the referral",
        "sent": "Referral sent",
        "high": "High",
    },
    "fr": {
        "nav": "Orienter un dossier",
        "find": "Trouver le dossier",
        "continue": "Continuer",
        "check": "Vérifier avant l'envoi",
        "can_send": "L'orientation peut être envoyée maintenant",
        "withheld": "Ce qui est retenu, et pourquoi",
        "legal_status": "Statut juridique",
        "send": "Envoyer l'orientation",
        "sent": "Orientation envoyée",
        "high": "Élevée",
    },
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_case_worker_checks_then_sends_a_referral(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
) -> None:
    words = WORDS[language]
    base = live_hub.url
    case_id = world.case()
    world.consent(case_id)
    with world.runtime.sessions() as db:
        reference = db.get_one(Case, case_id).external_ref
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    tag = f"{language}-refer"

    page = new_page(locale="fr-FR" if language == "fr" else "en-GB")
    sign_in_page(page, base, worker)
    assert page.locator("html").get_attribute("lang") == language

    # the navigation leads to the search by reference
    page.locator("nav.main-nav").get_by_text(words["nav"]).click()
    page.wait_for_url(f"{base}/console/refer")
    axe_check(page)
    screenshot(page, f"{tag}-01-find")
    page.fill("#reference", reference)
    page.get_by_role("button", name=words["find"]).click()
    page.wait_for_url(f"{base}/console/cases/{case_id}/refer")

    # 1. the service
    axe_check(page)
    screenshot(page, f"{tag}-02-service")
    page.check("#service-psychosocial_support")
    page.get_by_role("button", name=words["continue"]).click()
    page.wait_for_url(re.compile(rf".*/console/cases/{case_id}/refer/recipient\?.*"))

    # 2. the recipient and the data: health left out, so only legal status is withheld
    axe_check(page)
    screenshot(page, f"{tag}-03-recipient")
    page.check(f"#recipient-{world.recipient.organization_id}")
    page.uncheck("#category-health")
    page.get_by_role("button", name=words["check"]).click()
    page.wait_for_url(f"{base}/console/cases/{case_id}/refer/check")

    # 3. check before sending: the gate's dry run, in plain words
    assert page.locator("h1").inner_text() == words["check"]
    assert words["can_send"] in page.content()
    withheld = page.locator("dl.withheld")
    assert withheld.locator("dt").all_inner_texts() == [words["legal_status"]]
    html = page.content()
    assert WITHHELD_VALUE not in html and CANARY_NAME not in html
    assert reference not in page.title()
    axe_check(page)
    screenshot(page, f"{tag}-04-check")
    with world.runtime.sessions() as db:
        assert db.query(Referral).count() == 0
    # the same page on a small phone: nothing runs off the side
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot(page, f"{tag}-04-check-360px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1280, "height": 900})

    page.check("#urgency-high")
    page.fill("#note", "Rendez-vous le matin." if language == "fr" else "Mornings are best.")
    # one button to send (the other form of the page offers a legal basis instead of consent)
    assert page.locator("main form[action$='/refer/send'] button[type=submit]").count() == 1
    page.get_by_role("button", name=words["send"]).click()
    page.wait_for_url(re.compile(rf"{base}/console/referrals/\w+/sent$"))

    # 4. the confirmation
    assert page.locator("h1").inner_text() == words["sent"]
    assert words["high"] in page.content()
    assert WITHHELD_VALUE not in page.content()
    axe_check(page)
    screenshot(page, f"{tag}-05-sent")
    assert page_weight(page, page.url) < PAGE_LIMIT
    with world.runtime.sessions() as db:
        referral = db.query(Referral).one()
        assert (referral.status, referral.urgency) == ("sent", "high")
        assert referral.withheld_categories == ["legal_status"]
        assert referral.categories == ["contact", "identity", "psychosocial"]
