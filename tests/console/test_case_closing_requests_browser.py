"""A case worker, in a real browser, in English and in French, closes a case that two offices
have asked for: the closing page lists both transfer requests beside the open referrals and
transfers, an unanswered one is named in the error summary, one is refused ("the case is
closed") and the other kept waiting; the requesters see the refusal and the request still
waiting. Every page passes the accessibility check and fits a 360-pixel screen.

Screenshots of each page go to the run's screenshot folder (printed at the end of the run).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.console import i18n
from tests.console.test_transfers_browser import NARROW, STICKING_OUT
from tests.support.browser import sign_in_page
from tests.support.people import person
from tests.support.transfer_world import World, make_world

pytestmark = pytest.mark.browser


@pytest.fixture
def world(live_hub: Any, api: TestClient) -> World:
    return make_world(live_hub.runtime, api)


def _ask(world: World, who: Any, reference: str) -> str:
    asked = world.api.post(
        "/v1/transfer-requests",
        json={
            "owner_organization_id": world.sender.organization_id,
            "case_ref": reference,
            "reason": "the family moved",
        },
        headers=who.headers,
    )
    assert asked.status_code == 201, asked.text
    return str(asked.json()["id"])


@pytest.mark.parametrize("language", ["en", "fr"])
def test_closing_a_case_answers_its_transfer_requests(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    allow_console: list[re.Pattern[str]],
) -> None:
    allow_console.append(re.compile(r"status of 400"))
    base, tag = live_hub.url, f"{language}-closing-requests"
    locale = "fr-FR" if language == "fr" else "en-GB"
    _ = i18n.translations(language).gettext
    reference = f"MRRM-NE-{uuid.uuid4().hex[:6]}"
    case_id = world.case(external_ref=reference)
    refused = _ask(world, world.ngo, reference)
    kept = _ask(world, world.country, reference)
    owner = person(world.runtime, world.sender.organization_id, "case_worker")

    page = new_page(locale=locale)
    sign_in_page(page, base, owner)
    page.goto(f"{base}/console/cases/{case_id}/close")
    legends = page.locator("fieldset legend").all_inner_texts()
    assert any(
        _("Transfer request from %(organisation)s") % {"organisation": "Partner NGO"} in t
        for t in legends
    ), legends
    assert page.locator(f"#request-{refused}-cancel").count() == 1
    assert page.locator(f"#request-{kept}-keep").count() == 1
    axe_check(page)
    screenshot(page, f"{tag}-01-close")

    # the reason chosen, the requests not: the summary names each one left out
    page.check("#reason-goals_met")
    page.locator("form button.button-warning").click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    question = _("Choose whether to refuse or keep this transfer request.")
    assert summary.get_by_role("link", name=question).count() == 2
    assert page.locator(f"#request-{refused}-error").inner_text() == question
    axe_check(page)
    screenshot(page, f"{tag}-02-unanswered")

    narrow = new_page(
        locale=locale, width=NARROW, height=740, storage_state=page.context.storage_state()
    )
    narrow.goto(f"{base}/console/cases/{case_id}/close")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= NARROW, narrow.evaluate(
        STICKING_OUT
    )
    axe_check(narrow)
    screenshot(narrow, f"{tag}-01-close-360px")
    narrow.close()

    page.check(f"#request-{refused}-cancel")
    page.check(f"#request-{kept}-keep")
    page.check("#reason-goals_met")
    page.locator("form button.button-warning").click()
    page.wait_for_url(re.compile(rf"{base}/console/cases/{case_id}\?closed=1$"))
    screenshot(page, f"{tag}-03-closed")

    # the requester of the refused one reads the refusal and its reason
    requester = person(world.runtime, world.ngo.organization_id, "case_worker")
    theirs = new_page(locale=locale)
    sign_in_page(theirs, base, requester)
    theirs.goto(f"{base}/console/transfer-requests/{refused}")
    text = theirs.locator("main").inner_text()
    assert _("The case is closed") in text
    axe_check(theirs)
    screenshot(theirs, f"{tag}-04-refused")
    answers = {
        r: world.api.get(f"/v1/transfer-requests/{r}", headers=who.headers).json()
        for r, who in ((refused, world.ngo), (kept, world.country))
    }
    assert (answers[refused]["status"], answers[refused]["refusal_code"]) == (
        "refused",
        "case_closed",
    )
    assert answers[kept]["status"] == "requested"
