"""Partner staff, in a real browser, in English and in French: open a referral received under a
consent that keeps the data six months, read its erase-by date (the inbox's list shows it too,
until it is confirmed), confirm the erasure with the button, and land on a page saying when and
by whom, which shows nothing of the person. Every page passes the accessibility check and fits a
360-pixel screen.

Screenshots of each page go to the run's screenshot folder (printed at the end of the run).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.browser import sign_in_page
from tests.support.people import person
from tests.support.referral_world import CANARY_NAME, World

pytestmark = pytest.mark.browser

WORDS = {
    "en": {
        "section": "Erasing what you received",
        "erase_by": "Erase by",
        "confirm": "Confirm the erasure",
        "confirmed": "The erasure is confirmed.",
        "by": "by ",
        "confirmed_row": "Erasure confirmed",
        "back": "Back to the referral",
        "listed": "Erase what you received by",
    },
    "fr": {
        "section": "Effacement des données reçues",
        "erase_by": "Date limite d'effacement",
        "confirm": "Confirmer l'effacement",
        "confirmed": "L'effacement est confirmé.",
        "by": "par ",
        "confirmed_row": "Effacement confirmé",
        "back": "Retour à l'orientation",
        "listed": "Effacer les données reçues au plus tard le",
    },
}


def _fits(page: Any, screenshot: Callable[[Any, str], None], name: str) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot(page, f"{name}-360px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_recipient_confirms_the_erasure(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
) -> None:
    words = WORDS[language]
    base = live_hub.url
    case_id = world.case()
    world.consent(case_id, data_life={"unit": "month", "value": 6})
    referred = world.refer(case_id)
    assert referred.status_code == 201, referred.text
    referral_id = referred.json()["id"]
    worker = person(world.runtime, world.recipient.organization_id, "case_worker")
    tag = f"{language}-received-erasure"

    page = new_page(locale="fr-FR" if language == "fr" else "en-GB")
    sign_in_page(page, base, worker)

    page.goto(f"{base}/console/received/{referral_id}")
    section = page.locator("#erasure")
    assert section.inner_text() == words["section"]
    date_row = page.locator("dl.summary div", has_text=words["erase_by"])
    assert re.search(r"20\d\d", date_row.inner_text())
    section.scroll_into_view_if_needed()
    axe_check(page)
    screenshot(page, f"{tag}-01-referral")
    _fits(page, screenshot, f"{tag}-01-referral")

    # the inbox's list says it too, until it is confirmed
    page.goto(f"{base}/console/received")
    assert re.search(words["listed"] + r" \d", page.locator("table.queue").inner_text())
    axe_check(page)
    screenshot(page, f"{tag}-00-inbox")
    _fits(page, screenshot, f"{tag}-00-inbox")
    page.goto(f"{base}/console/received/{referral_id}")

    page.get_by_role("button", name=words["confirm"]).click()
    page.wait_for_url(f"{base}/console/received/{referral_id}/erasure?confirmed=1")
    assert words["confirmed"] in page.locator("[role=status]").inner_text()
    row = page.locator("dl.summary div", has_text=words["confirmed_row"])
    assert f"{words['by']}{worker.email}" in row.inner_text()
    assert page.get_by_role("button", name=words["confirm"]).count() == 0
    assert CANARY_NAME not in page.content()
    axe_check(page)
    screenshot(page, f"{tag}-02-confirmed")
    _fits(page, screenshot, f"{tag}-02-confirmed")
    page.get_by_role("link", name=words["back"]).click()
    page.wait_for_url(f"{base}/console/received/{referral_id}")
    assert (
        words["confirmed_row"]
        in page.locator("dl.summary", has_text=words["erase_by"]).inner_text()
    )
