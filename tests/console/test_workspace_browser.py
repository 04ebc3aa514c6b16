"""The consent officer's workspace in a real browser, end to end, in English and in French:
sign-in with the second factor, the queue, a request, the decision checked then made.

Screenshots of each page go to the run's screenshot folder (printed at the end of the run).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest

from hub.referrals.models import Referral
from hub.reviews.models import Review
from tests.support import outbox_drain
from tests.support.people import Person, person
from tests.support.referral_world import World
from tests.support.reviews import held_request

pytestmark = pytest.mark.browser

PAGE_LIMIT = 100 * 1024


def held(world: World, urgency: str = "normal") -> dict[str, Any]:
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    answer = world.refer(case_id, categories=["identity", "health"], urgency=urgency)
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def sign_in(
    page: Any,
    base: str,
    who: Person,
    shot: Callable[[Any, str], None],
    tag: str,
    axe: Callable[[Any], None] | None = None,
) -> None:
    """Through the pages, enrolling the second factor as a first-time officer does (each
    page checked with axe-core when `axe` is given)."""
    check = axe or (lambda page: None)
    page.goto(f"{base}/console")
    assert page.url.startswith(f"{base}/console/sign-in")
    check(page)
    shot(page, f"{tag}-01-sign-in")
    page.fill("#email", who.email)
    page.fill("#password", who.password)
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r".*/console/second-factor/enrol$"))
    check(page)
    shot(page, f"{tag}-02-enrol")
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    who.totp_secret = secret
    page.fill("#code", pyotp.TOTP(secret).now())
    page.get_by_role("button").last.click()
    page.wait_for_load_state()
    assert page.locator("ul.codes li").count() == 10
    check(page)
    shot(page, f"{tag}-03-recovery-codes")
    page.locator("main a.button").click()
    page.wait_for_url(f"{base}/console")


def test_an_officer_works_the_queue_in_english(
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
    allow_console: list[re.Pattern[str]],
) -> None:
    # the form sent back with its errors answers 400, which the browser logs
    allow_console.append(re.compile(r"status of 400"))
    base = live_hub.url
    normal = held(world)
    emergency = held(world, urgency="emergency")
    officer = person(world.runtime, world.sender.organization_id, "consent_officer")
    page = new_page(locale="en-GB")
    sign_in(page, base, officer, screenshot, "en", axe_check)
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Reviews (2)" in page.locator("nav.main-nav").inner_text()
    axe_check(page)

    page.click("text=Reviews (2)")
    page.wait_for_url(f"{base}/console/reviews")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 2
    assert "Emergency" in rows.nth(0).inner_text()  # the most urgent first
    assert emergency["review_id"] in rows.nth(0).locator("a").get_attribute("href")
    axe_check(page)
    screenshot(page, "en-04-queue")
    assert page_weight(page, f"{base}/console/reviews") < PAGE_LIMIT

    rows.nth(1).locator("a").click()
    page.wait_for_url(f"{base}/console/reviews/{normal['review_id']}")
    assert "Sensitive data would be shared" in page.content()
    axe_check(page)
    screenshot(page, "en-05-review")
    assert page_weight(page, page.url) < PAGE_LIMIT

    # no choice and no justification: the error summary links to the fields
    page.click("button:has-text('Continue')")
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert summary.locator("a").count() == 2
    screenshot(page, "en-06-review-errors")
    axe_check(page)

    page.check("#outcome-returned")
    page.fill("#justification", "Record the witness of the verbal consent, then resubmit.")
    page.click("button:has-text('Continue')")
    assert "Check your decision" in page.locator("h1").inner_text()
    screenshot(page, "en-07-check")
    axe_check(page)
    with world.runtime.sessions() as db:
        assert db.get_one(Review, normal["review_id"]).status == "pending"
    page.click("button:has-text('Confirm the decision')")
    assert "Request sent back" in page.locator("h1").inner_text()
    screenshot(page, "en-08-decided")
    outbox_drain.drain(world.runtime)
    with world.runtime.sessions() as db:
        review = db.get_one(Review, normal["review_id"])
        assert review.status == "returned"
        assert review.decided_by == f"user:{officer.id}@{officer.organization_id}"
        assert db.get_one(Referral, normal["id"]).status == "returned"
    page.goto(f"{base}/console")
    assert "Reviews (1)" in page.locator("nav.main-nav").inner_text()

    # the account page: language and second factor
    page.goto(f"{base}/console/account")
    axe_check(page)
    screenshot(page, "en-10-account")

    # narrow screen: the queue still reads
    narrow = new_page(
        locale="en-GB", width=360, height=740, storage_state=page.context.storage_state()
    )
    narrow.goto(f"{base}/console/reviews")
    screenshot(narrow, "en-09-queue-360px")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 360


def test_an_officer_decides_in_french(
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
) -> None:
    base = live_hub.url
    request = held(world, urgency="high")
    officer = person(world.runtime, world.sender.organization_id, "consent_officer")
    page = new_page(locale="fr-FR")
    sign_in(page, base, officer, screenshot, "fr", axe_check)
    assert page.locator("html").get_attribute("lang") == "fr"
    page.goto(f"{base}/console/reviews")
    assert "Requests waiting" not in page.content()
    axe_check(page)
    screenshot(page, "fr-04-queue")
    page.locator("table.queue tbody tr a").first.click()
    page.wait_for_url(f"{base}/console/reviews/{request['review_id']}")
    axe_check(page)
    screenshot(page, "fr-05-review")
    page.check("#outcome-approved")
    page.fill("#justification", "Données de santé nécessaires à la psychologue.")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    screenshot(page, "fr-06-check")
    axe_check(page)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    screenshot(page, "fr-07-decided")
    outbox_drain.drain(world.runtime)
    with world.runtime.sessions() as db:
        assert db.get_one(Review, request["review_id"]).status == "approved"
        assert db.get_one(Referral, request["id"]).status in ("sent", "delivered")
    # the language switch keeps the place
    page.goto(f"{base}/console/reviews/{request['review_id']}")
    page.click("a[hreflang=en]")
    assert page.url.startswith(f"{base}/console/reviews/{request['review_id']}?")
    assert page.locator("html").get_attribute("lang") == "en"


def test_what_an_officer_cannot_reach_or_forge(
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    screenshot: Callable[[Any, str], None],
    axe_check: Callable[[Any], None],
    allow_console: list[re.Pattern[str]],
) -> None:
    allow_console.append(re.compile(r"status of (403|404)"))
    base = live_hub.url
    mine = held(world)
    elsewhere = held_request(world.runtime, world.outsider.organization_id)
    officer = person(world.runtime, world.sender.organization_id, "consent_officer")
    page = new_page(locale="en-GB")
    sign_in(page, base, officer, screenshot, "guard")

    # another organisation's review, by URL
    answer = page.goto(f"{base}/console/reviews/{elsewhere}")
    assert answer is not None and answer.status == 404
    assert "Page not found" in page.content()
    axe_check(page)
    screenshot(page, "guard-01-not-found")

    # a form whose CSRF token was taken out is refused, and nothing is decided
    page.goto(f"{base}/console/reviews/{mine['review_id']}")
    page.check("#outcome-denied")
    page.fill("#justification", "No.")
    page.evaluate("document.querySelector('main form input[name=csrf_token]').remove()")
    with page.expect_navigation() as navigation:
        page.click("button:has-text('Continue')")
    assert navigation.value.status == 403
    with world.runtime.sessions() as db:
        assert db.get_one(Review, mine["review_id"]).status == "pending"

    # after sign-out the session is gone: the pages send to sign-in again
    page.goto(f"{base}/console")
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r".*/console/sign-in\?signed_out=1$"))
    assert "You are signed out." in page.content()
    axe_check(page)
    screenshot(page, "guard-02-signed-out")
    page.goto(f"{base}/console/reviews/{mine['review_id']}")
    assert "/console/sign-in" in page.url
