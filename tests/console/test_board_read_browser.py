"""In a browser, EN and FR: the main navigation's "Notifications" entry with the unread count,
and a consent officer (`referrals:read`, no `referrals:write`) following the tracking board of
their office and the offices below it: the two parts under their own headings, no button that
moves anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hub.clock import utcnow
from hub.notifications.models import Notification
from tests.console.test_directory_browser import LANGUAGES, PAGE_LIMIT, locale_of, sign_in
from tests.console.test_directory_pages import office_below
from tests.support.people import person
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_officer_follows_the_tree_board_and_sees_their_notifications(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
) -> None:
    base, tag = live_hub.url, f"{language}-board-read"
    own = world.sent()
    _, theirs = office_below(world)
    officer = person(world.runtime, world.sender.organization_id, "consent_officer")
    page = new_page(locale=locale_of(language))
    sign_in(page, base, officer)
    entry = page.locator("nav.main-nav #nav-notifications")
    assert entry.inner_text().split() == ["Notifications", "(0)"]
    with world.runtime.sessions.begin() as db:
        db.add(
            Notification(
                user_id=officer.id,
                organization_id=world.sender.organization_id,
                code="referral.escalation",
                stage="acknowledge",
                object_type="referral",
                object_id=own,
                created_at=utcnow(),
            )
        )
    page.reload()
    assert entry.inner_text().split() == ["Notifications", "(1)"]
    screenshot(page, f"{tag}-01-nav-unread")
    entry.click()
    page.wait_for_url(f"{base}/console/notifications")
    failed = "jamais été accusée" if language == "fr" else "never acknowledged"
    assert failed in page.locator("main").inner_text()
    assert entry.get_attribute("aria-current") == "page"
    page.locator("main form button").first.click()  # mark all as read
    page.wait_for_load_state()
    assert entry.inner_text().split() == ["Notifications", "(0)"]
    axe_check(page)
    screenshot(page, f"{tag}-02-notifications")

    page.click("nav.main-nav a[href='/console/board']")
    page.wait_for_url(f"{base}/console/board")
    page.click("#show-tree")
    page.wait_for_url(f"{base}/console/board?scope=tree")
    # the two parts, each under its heading, their lists one level below
    assert page.locator("#below > h2#below-title").count() == 1
    assert page.locator("#own > h2#own-title").count() == 1
    assert page.locator("#own h3#referrals").count() == 1
    assert page.locator("#own h3#transfers").count() == 1
    assert page.locator(f"#own a[href='/console/board/referrals/{own}']").count() == 1
    link = page.locator(f"#below a[href='/console/board/below/referrals/{theirs}']")
    assert link.count() == 1
    # reading only: nothing on the board moves a referral or a transfer
    assert page.locator("main form[method=post]").count() == 0
    html = page.content()
    assert CANARY_NAME not in html and CANARY_NOTE not in html
    axe_check(page)
    screenshot(page, f"{tag}-03-tree")
    assert page_weight(page, page.url) < PAGE_LIMIT
    link.click()
    page.wait_for_url(f"{base}/console/board/below/referrals/{theirs}")
    assert theirs in page.locator("main").inner_text()
    page.goto(f"{base}/console/board/referrals/{own}")
    assert own in page.locator("main").inner_text()
    assert page.locator("main form[method=post]").count() == 0
    screenshot(page, f"{tag}-04-own-referral")
