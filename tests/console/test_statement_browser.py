"""The beneficiary's statement in a real browser, in English and in French: from home to the
page, the page as printed (print media), on a phone's width, and its PDF downloaded.

Screenshots go to the run's screenshot folder (printed at the end of the run):
statement-en-*.png, statement-fr-*.png.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from pypdf import PdfReader

from tests.support.browser import sign_in_page
from tests.support.people import person
from tests.support.referral_world import CANARY_NAME, World

pytestmark = pytest.mark.browser

PAGE_LIMIT = 100 * 1024
WITHHELD = "Canary status: Ozymandre Quellinet, appeal at Niamey"


def disclosed(world: World) -> str:
    """Read by the partner twice (all it was given, then identity alone); legal_status was
    asked for but no consent covers it, so it never left."""
    case_id = world.case(
        {
            "identity": {"given_name": CANARY_NAME, "family_name": "Moussa"},
            "contact": {"phone": "+227 90 00 00 00"},
            "psychosocial": {"notes": "sleep problems"},
            "legal_status": {"status": WITHHELD},
        }
    )
    world.consent(case_id)
    world.get(world.refer(case_id).json()["id"], world.recipient)
    world.get(world.refer(case_id, categories=["identity"]).json()["id"], world.recipient)
    return case_id


@pytest.mark.parametrize(
    ("language", "locale", "title", "words"),
    [
        ("en", "en-GB", "Statement of disclosures", ["Psychosocial support", "Contact details"]),
        ("fr", "fr-FR", "Relevé des communications", ["Soutien psychosocial", "Coordonnées"]),
    ],
)
def test_a_case_worker_opens_prints_and_downloads_the_statement(
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
    language: str,
    locale: str,
    title: str,
    words: list[str],
) -> None:
    base = live_hub.url
    case_id = disclosed(world)
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    page = new_page(locale=locale)
    sign_in_page(page, base, worker)
    assert page.locator("html").get_attribute("lang") == language

    # from home to the list of the office's cases, then to the statement
    axe_check(page)
    screenshot(page, f"statement-{language}-00-home")
    page.locator("main a[href='/console/statements']").click()
    page.wait_for_url(f"{base}/console/statements")
    axe_check(page)
    screenshot(page, f"statement-{language}-01-list")
    page.locator(f"a[href='/console/cases/{case_id}/statement']").click()
    page.wait_for_url(f"{base}/console/cases/{case_id}/statement")
    assert page.title().startswith(title)
    assert page.locator("h1").inner_text() == title
    rows = page.locator("table.statement-table tbody tr")
    assert rows.count() == 2
    assert "Partner NGO" in rows.nth(0).inner_text()
    for expected in words:
        assert expected in rows.nth(0).inner_text()
    html = page.content()
    assert WITHHELD not in html and CANARY_NAME not in html
    axe_check(page)
    screenshot(page, f"statement-{language}-02-page")
    assert page_weight(page, page.url) < PAGE_LIMIT

    # on paper: the statement alone, without the hub's header, menus or download links
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator(".statement-actions").is_visible()
    assert page.locator("table.statement-table").is_visible()
    screenshot(page, f"statement-{language}-03-print")
    page.emulate_media(media="screen")

    # a phone's width: the table becomes cards, nothing runs off the side
    narrow = new_page(
        locale=locale, width=360, height=740, storage_state=page.context.storage_state()
    )
    narrow.goto(f"{base}/console/cases/{case_id}/statement")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(narrow, f"statement-{language}-04-360px")

    # the PDF in the page's language, as the person will hold it
    link = page.locator(f"a[href$='statement.pdf?lang={language}']")
    with page.expect_download() as download:
        link.click()
    assert re.fullmatch(r"statement-MRRM-NE-[0-9a-f]{8}\.pdf", download.value.suggested_filename)
    content = download.value.path().read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert title in text and "Partner NGO" in text
    assert WITHHELD not in text and CANARY_NAME not in text


def test_the_language_switch_keeps_the_statement(
    live_hub: Any, world: World, new_page: Callable[..., Any]
) -> None:
    base = live_hub.url
    case_id = disclosed(world)
    page = new_page(locale="en-GB")
    sign_in_page(page, base, person(world.runtime, world.sender.organization_id, "case_worker"))
    page.goto(f"{base}/console/cases/{case_id}/statement")
    page.click("nav.lang a[hreflang=fr]")
    assert page.url.startswith(f"{base}/console/cases/{case_id}/statement?")
    assert page.locator("h1").inner_text() == "Relevé des communications"
