"""A case transfer in a real browser, in English and in French: the sending office's case worker
proposes it from the case (the form with its mistakes first, then the plan), the receiving
organisation's case worker reads the offer and accepts it, and the sender sees the transfer
completed with its history. Every page passes the accessibility check and fits a 360-pixel
screen; no name in a title or an address.

Screenshots of each page go to the run's screenshot folder (printed at the end of the run).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.cases.models import Case
from hub.console import i18n
from hub.console.labels import LABELS
from hub.transfers.models import Transfer
from tests.support.browser import sign_in_page
from tests.support.people import person
from tests.support.transfer_world import CANARY_NAME, World, make_world

pytestmark = pytest.mark.browser

PAGE_LIMIT = 100 * 1024
NARROW = 360
# a plan as a case worker would write it, in the page's language (the screenshots are the docs')
PLANS = {
    "en": {
        "reason": "The family moved to Niamey; the mother asked for the case to follow them.",
        "open_needs": "Psychosocial follow-up\nSchool enrolment for the two children",
        "risks": "None known at the new address.",
        "handover_contact": "Case worker, IOM Agadez, +227 90 00 00 02",
    },
    "fr": {
        "reason": "La famille s'est installée à Niamey ; la mère demande que le dossier la suive.",
        "open_needs": "Suivi psychosocial\nInscription scolaire des deux enfants",
        "risks": "Aucun connu à la nouvelle adresse.",
        "handover_contact": "Gestionnaire de cas, OIM Agadez, +227 90 00 00 02",
    },
}
STICKING_OUT = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 361)
  .map(e => e.tagName + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))"""


@pytest.fixture
def world(live_hub: Any, api: TestClient) -> World:
    return make_world(live_hub.runtime, api)


def transfer_of(world: World, case_id: str) -> Transfer:
    with world.runtime.sessions() as db:
        return db.scalars(select(Transfer).where(Transfer.case_id == case_id)).one()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_case_transfer_proposed_accepted_and_followed(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
    allow_console: list[re.Pattern[str]],
) -> None:
    # the form sent back with its mistakes answers 400, which the browser logs
    allow_console.append(re.compile(r"status of 400"))
    base, tag = live_hub.url, f"{language}-transfer"
    locale = "fr-FR" if language == "fr" else "en-GB"
    gettext = i18n.translations(language).gettext
    plan = PLANS[language]
    reference = f"MRRM-NE-{uuid.uuid4().hex[:6]}"
    case_id = world.case(external_ref=reference)
    world.consent(case_id)
    sender = person(world.runtime, world.sender.organization_id, "case_worker")
    receiver = person(world.runtime, world.ngo.organization_id, "case_worker")

    def check(page: Any, name: str) -> None:
        assert CANARY_NAME not in page.title() and plan["reason"] not in page.url
        axe_check(page)
        screenshot(page, f"{tag}-{name}")
        assert page_weight(page, page.url) < PAGE_LIMIT

    def fits(page: Any, path: str, name: str) -> None:
        narrow = new_page(
            locale=locale, width=NARROW, height=740, storage_state=page.context.storage_state()
        )
        narrow.goto(f"{base}{path}")
        wide = narrow.evaluate(STICKING_OUT)
        assert narrow.evaluate("document.documentElement.scrollWidth") <= NARROW, wide
        axe_check(narrow)
        screenshot(narrow, f"{tag}-{name}-360px")
        narrow.close()

    # the sending office: the case's page offers the proposal
    page = new_page(locale=locale)
    sign_in_page(page, base, sender)
    assert page.locator("html").get_attribute("lang") == language
    page.goto(f"{base}/console/cases/{case_id}")
    page.click(f"a[href='/console/cases/{case_id}/transfer']")
    page.wait_for_url(f"{base}/console/cases/{case_id}/transfer")
    check(page, "01-form")
    fits(page, f"/console/cases/{case_id}/transfer", "01-form")

    # sent with nothing filled in: each mistake listed at the top, linked to its field
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    for anchor in ("#reason", "#open_needs", "#risks", "#handover_contact"):
        assert summary.locator(f"a[href='{anchor}']").is_visible()
    assert summary.locator("a[href^='#recipient-']").count() == 1
    check(page, "02-form-mistakes")

    page.check(f"#recipient-{world.ngo.organization_id}")
    for field, value in plan.items():
        page.fill(f"#{field}", value)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/console/transfers/[0-9a-f]+\?proposed=1$"))
    transfer = transfer_of(world, case_id)
    assert transfer.status == "sent" and transfer.id in page.url
    assert page.locator(".panel-success").inner_text().startswith(gettext("Transfer proposed"))
    assert plan["reason"] in page.content() and CANARY_NAME not in page.content()
    check(page, "03-proposed")
    fits(page, f"/console/transfers/{transfer.id}", "03-proposed")
    # the case lists it, and offers no second proposal while it is open
    page.goto(f"{base}/console/cases/{case_id}")
    assert page.locator(f"#transfers ~ table a[href='/console/transfers/{transfer.id}']").count()
    assert page.locator(f"a[href='/console/cases/{case_id}/transfer']").count() == 0
    check(page, "03-case")
    fits(page, f"/console/cases/{case_id}", "03-case")

    # the receiving organisation: the offer, its plan and summary only, then accepted
    other = new_page(locale=locale)
    sign_in_page(other, base, receiver)
    other.click("nav.main-nav a[href='/console/offers']")
    other.wait_for_url(f"{base}/console/offers")
    other.click(f"a[href='/console/offers/{transfer.id}']")
    other.wait_for_url(f"{base}/console/offers/{transfer.id}")
    assert plan["reason"] in other.content() and CANARY_NAME not in other.content()
    check(other, "04-offer")
    other.click(f"form[action='/console/offers/{transfer.id}/accept'] button")
    other.wait_for_url(re.compile(rf".*/console/offers/{transfer.id}/done\?move=accept$"))
    with world.runtime.sessions() as db:
        assert db.get_one(Case, case_id).owner_organization_id == world.ngo.organization_id
    # its history, now the case is the partner's
    other.goto(f"{base}/console/offers/{transfer.id}")
    assert other.locator("li.event").count() == 3
    check(other, "05-offer-history")

    # the sender: the transfer completed, and its history, most recent first
    page.goto(f"{base}/console/board?show=closed")
    page.click(f"a[href='/console/transfers/{transfer.id}']")
    page.wait_for_url(f"{base}/console/transfers/{transfer.id}")
    completed = gettext(LABELS["sent_transfer_statuses"]["completed"])
    assert completed in page.locator("main p .tag").first.inner_text()
    events = page.locator("li.event")
    assert events.count() == 3
    assert completed in events.first.inner_text()
    assert "Partner NGO" in events.nth(1).inner_text()
    # the case left the office: its page is no longer linked
    assert page.locator(f"a[href='/console/cases/{case_id}']").count() == 0
    check(page, "06-completed")
    fits(page, f"/console/transfers/{transfer.id}", "06-completed")
