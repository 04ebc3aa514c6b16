"""Transfer requests in a real browser, in English and in French: a partner's case worker asks
for a case (the form's mistakes first), sees its request waiting; the owner's case worker finds
it among the requests asked of the office (status and deadline), proposes the transfer on the
prefilled proposal page, and refuses a second request with a coded reason; the requester sees
both answers. Every page passes the accessibility check and fits a 360-pixel screen; no name
in a title or an address."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.console import i18n
from hub.console.labels import LABELS
from hub.transfers.requests.models import TransferRequest
from tests.console.test_transfers_browser import NARROW, PAGE_LIMIT, PLANS, STICKING_OUT
from tests.support.browser import sign_in_page
from tests.support.people import person
from tests.support.transfer_world import CANARY_NAME, World, make_world

pytestmark = pytest.mark.browser

REASONS = {
    "en": "The family now lives in Niamey, where our psychosocial team follows the children.",
    "fr": "La famille vit désormais à Niamey, où notre équipe psychosociale suit les enfants.",
}


@pytest.fixture
def world(live_hub: Any, api: TestClient) -> World:
    return make_world(live_hub.runtime, api)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_case_asked_for_answered_with_a_transfer_and_refused(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
    allow_console: list[re.Pattern[str]],
) -> None:
    allow_console.append(re.compile(r"status of 400"))
    base, tag = live_hub.url, f"{language}-transfer-request"
    locale = "fr-FR" if language == "fr" else "en-GB"
    gettext = i18n.translations(language).gettext
    reference = f"MRRM-NE-{uuid.uuid4().hex[:6]}"
    case_id = world.case(external_ref=reference)
    world.consent(case_id)
    requester = person(world.runtime, world.ngo.organization_id, "case_worker")
    owner = person(world.runtime, world.sender.organization_id, "case_worker")

    def check(page: Any, name: str) -> None:
        assert CANARY_NAME not in page.content() and reference not in page.url
        assert REASONS[language] not in page.title()
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

    def ask(page: Any, ref: str) -> str:
        page.goto(f"{base}/console/transfer-requests/new")
        page.check(f"#owner-{world.sender.organization_id}")
        page.fill("#reference", ref)
        page.fill("#reason", REASONS[language])
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/console/transfer-requests/[0-9a-f]+\?made=1$"))
        return str(page.url.rsplit("/", 1)[1].split("?")[0])

    # the partner asks: the form's mistakes first, then the request made
    page = new_page(locale=locale)
    sign_in_page(page, base, requester)
    page.click("nav.main-nav a[href='/console/transfer-requests']")
    page.wait_for_url(f"{base}/console/transfer-requests")
    page.click("a[href='/console/transfer-requests/new']")
    page.wait_for_url(f"{base}/console/transfer-requests/new")
    check(page, "01-form")
    fits(page, "/console/transfer-requests/new", "01-form")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    for anchor in ("#reference", "#reason"):
        assert summary.locator(f"a[href='{anchor}']").is_visible()
    assert summary.locator("a[href^='#owner-']").count() == 1
    check(page, "02-form-mistakes")
    answered_id = ask(page, reference)
    waiting = gettext(LABELS["transfer_request_statuses"]["requested"])
    assert waiting in page.locator("main p .tag").first.inner_text()
    assert REASONS[language] in page.content()
    check(page, "03-asked")
    fits(page, f"/console/transfer-requests/{answered_id}", "03-asked")
    refused_id = ask(page, "MRRM-NE-UNKNOWN")
    # what the requester sees is the same whether or not the reference matched
    assert gettext("No case of yours matches the reference given") not in page.content()

    # the owner: the requests asked of the office, with their deadline; the transfer proposed
    other = new_page(locale=locale)
    sign_in_page(other, base, owner)
    nav = other.locator("nav.main-nav a[href='/console/transfer-requests']")
    assert "(2)" in nav.inner_text()
    nav.click()
    other.wait_for_url(f"{base}/console/transfer-requests")
    assert other.locator(f"#received ~ table a[href='/console/transfer-requests/{answered_id}']")
    assert other.locator("#received ~ table tbody tr").count() == 2
    check(other, "04-received")
    fits(other, "/console/transfer-requests", "04-received")
    other.click(f"a[href='/console/transfer-requests/{answered_id}']")
    other.wait_for_url(f"{base}/console/transfer-requests/{answered_id}")
    assert reference in other.content()
    check(other, "05-request")
    other.click(f"a[href='/console/cases/{case_id}/transfer?request={answered_id}']")
    other.wait_for_url(re.compile(rf".*/console/cases/{case_id}/transfer\?request="))
    assert other.is_checked(f"#recipient-{world.ngo.organization_id}")
    check(other, "06-propose-prefilled")
    for field, value in PLANS[language].items():
        other.fill(f"#{field}", value)
    other.locator("main form button[type=submit]").click()
    other.wait_for_url(re.compile(r".*/console/transfers/[0-9a-f]+\?proposed=1$"))
    with world.runtime.sessions() as db:
        answered = db.get_one(TransferRequest, answered_id)
        assert answered.status == "answered_with_transfer" and answered.transfer_id

    # the unmatched one: refused with a coded reason (the code missing first)
    other.goto(f"{base}/console/transfer-requests/{refused_id}")
    assert gettext("No case of yours matches the reference given") in other.content()
    check(other, "07-unmatched")
    other.click(f"a[href='/console/transfer-requests/{refused_id}/refuse']")
    other.wait_for_url(f"{base}/console/transfer-requests/{refused_id}/refuse")
    other.locator("main form button[type=submit]").click()
    other.wait_for_load_state()
    assert other.locator(".error-summary").is_visible()
    check(other, "08-refuse-mistakes")
    other.check("#refusal_code-case_not_identified")
    other.locator("main form button[type=submit]").click()
    other.wait_for_url(re.compile(rf".*/console/transfer-requests/{refused_id}\?moved=refuse$"))

    # the requester: one answered with a transfer (the offer linked), one refused with its reason
    page.goto(f"{base}/console/transfer-requests")
    check(page, "09-sent-answered")
    fits(page, "/console/transfer-requests", "09-sent-answered")
    page.goto(f"{base}/console/transfer-requests/{answered_id}")
    assert page.locator(f"a[href='/console/offers/{answered.transfer_id}']").count() == 1
    page.goto(f"{base}/console/transfer-requests/{refused_id}")
    refusal = gettext(LABELS["transfer_request_refusals"]["case_not_identified"])
    assert refusal in page.content()
    check(page, "10-refused")
