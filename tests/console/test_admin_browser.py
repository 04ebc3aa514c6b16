"""An administrator of the hub in a real browser, in English and in French: the organisations,
an agreement revoked (and the consent gate refusing the next referral at once), a client made
(its secret shown once), and a dead delivery redelivered; at a desktop's width and a phone's.

Screenshots of each page go to the run's screenshot folder (printed at the end of the run).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from hub.delivery.models import Delivery
from tests.support.api import Partner, operator
from tests.support.dead_deliveries import dead_referral
from tests.support.loopback_partners import receiver, settings
from tests.support.people import Person, person
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World, make_world
from tests.support.webhook_receiver import WebhookReceiver

__all__ = ["receiver", "settings"]

pytestmark = pytest.mark.browser

PAGE_LIMIT = 100 * 1024
# what sticks out of a 360-pixel screen, for the failure's message
STICKING_OUT = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 361)
  .map(e => e.tagName + '#' + e.id + '.' + e.className + ' '
    + Math.round(e.getBoundingClientRect().right))"""


@pytest.fixture
def world(live_hub: Any, api: TestClient) -> World:
    return make_world(live_hub.runtime, api)


@pytest.fixture
def admin(world: World) -> Partner:
    return operator(world.runtime, world.api)


def sign_in(page: Any, base: str, who: Person) -> None:
    """Through the pages, enrolling the second factor as a first-time administrator does."""
    page.goto(f"{base}/console")
    page.fill("#email", who.email)
    page.fill("#password", who.password)
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r".*/console/second-factor/enrol$"))
    who.totp_secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(who.totp_secret).now())
    page.get_by_role("button").last.click()
    page.wait_for_load_state()
    page.locator("main a.button").click()
    page.wait_for_url(f"{base}/console")


def fits_a_phone(page: Any) -> None:
    wide = page.evaluate(STICKING_OUT)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, wide


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_an_administrator_revokes_an_agreement_adds_a_client_and_redelivers(
    live_hub: Any,
    world: World,
    admin: Partner,
    receiver: WebhookReceiver,
    locale: str,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
) -> None:
    base = live_hub.url
    tag = f"admin-{locale[:2]}"
    french = locale.startswith("fr")
    delivery = dead_referral(world, admin, receiver)
    case_id = world.case()
    world.consent(case_id)
    assert world.refer(case_id).status_code == 201  # the agreement lets it through
    who = person(world.runtime, admin.organization_id, "admin")
    page = new_page(locale=locale)
    sign_in(page, base, who)

    # the administration, from the navigation
    page.click("nav.main-nav a[href='/console/admin']")
    page.wait_for_url(f"{base}/console/admin")
    assert page.locator("html").get_attribute("lang") == locale[:2]
    axe_check(page)
    screenshot(page, f"{tag}-01-index")

    # organisations, then one of them
    page.click("nav.sub-nav a[href='/console/admin/organisations']")
    assert page.locator("table.queue tbody tr").count() == 4  # three partners, the operator
    axe_check(page)
    screenshot(page, f"{tag}-02-organisations")
    assert page_weight(page, page.url) < PAGE_LIMIT
    # a new organisation: a mistake first, shown at the top and beside its field
    page.click("main a.button[href='/console/admin/organisations/new']")
    page.fill("#name", "Association Tadamoun, Agadez")
    page.fill("#country", "N")
    page.click("main form button[type=submit]")
    summary = page.locator(".error-summary")
    assert summary.is_visible() and summary.locator("a").count() == 2  # the kind, the country
    axe_check(page)
    screenshot(page, f"{tag}-02b-organisation-errors")
    page.check("#kind-3")
    page.check("#services-0")
    page.fill("#country", "NE")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/admin/organisations/\w+\?done=created$"))
    assert "Association Tadamoun, Agadez" in page.inner_text("h1")
    page.goto(f"{base}/console/admin/organisations")
    page.click("text=Partner NGO")
    page.wait_for_url(f"{base}/console/admin/organisations/{world.recipient.organization_id}")
    axe_check(page)
    screenshot(page, f"{tag}-03-organisation")

    page.click(f"a[href='/console/admin/organisations/{world.recipient.organization_id}/channel']")
    assert "127.0.0.1" in page.content()
    axe_check(page)
    screenshot(page, f"{tag}-03b-channel")

    # the agreement, revoked after checking what it does
    page.click("nav.sub-nav a[href='/console/admin/agreements']")
    axe_check(page)
    screenshot(page, f"{tag}-04-agreements")
    page.locator("a[href$='/revoke']").first.click()
    assert ("Révoquer cet accord" if french else "Revoke this agreement") in page.inner_text("h1")
    axe_check(page)
    screenshot(page, f"{tag}-05-agreement-revoke")
    page.fill("#reason", "The partner closed its office" if not french else "Bureau fermé")
    page.click("form .button-warning")
    page.wait_for_url(re.compile(r".*/console/admin/agreements\?done=revoked$"))
    assert page.locator(".panel-success").is_visible()
    assert page.locator(".tag-red").count() == 1
    screenshot(page, f"{tag}-06-agreement-revoked")
    refused = world.refer(case_id)  # at once: the gate no longer counts it
    assert refused.status_code == 422 and "no_agreement" in refused.text

    # a client of the partner: its secret shown once
    page.goto(f"{base}/console/admin/organisations/{world.recipient.organization_id}/clients")
    axe_check(page)
    page.fill("#name", "Case management system")
    page.check("input[value='referrals:read']")
    page.check("input[value='referrals:write']")
    page.click("form.narrow button[type=submit]")
    secret = page.locator("#client-secret").inner_text()
    assert len(secret) > 30
    assert secret not in page.url
    axe_check(page)
    screenshot(page, f"{tag}-07-client-secret")
    page.click("main a.button")
    assert "Case management system" in page.content() and secret not in page.content()
    screenshot(page, f"{tag}-08-clients")

    # the dead delivery, with why, then redelivered
    page.click("nav.sub-nav a[href='/console/admin/deliveries']")
    text = page.content()
    assert delivery.id in text and "PermanentError: http_error" in text
    assert CANARY_NAME not in text and CANARY_NOTE not in text
    axe_check(page)
    screenshot(page, f"{tag}-09-dead-deliveries")
    narrow = new_page(
        locale=locale, width=360, height=740, storage_state=page.context.storage_state()
    )
    for path, name in (
        ("/console/admin/organisations/new", "10a-organisation-new-360px"),
        ("/console/admin/people/new", "10b-person-new-360px"),
        ("/console/admin/people", "10c-people-360px"),
        ("/console/admin/deliveries", "10-dead-deliveries-360px"),
        ("/console/admin/agreements", "11-agreements-360px"),
        (
            f"/console/admin/organisations/{world.recipient.organization_id}/clients",
            "12-clients-360px",
        ),
    ):
        narrow.goto(f"{base}{path}")
        fits_a_phone(narrow)
        axe_check(narrow)
        screenshot(narrow, f"{tag}-{name}")
    page.click(f"form[action='/console/admin/deliveries/{delivery.id}/redeliver'] button")
    page.wait_for_url(re.compile(r".*/console/admin/deliveries\?done=queued$"))
    assert page.locator(".panel-success").is_visible()
    axe_check(page)
    screenshot(page, f"{tag}-13-redelivered")
    with world.runtime.sessions() as db:
        assert db.get_one(Delivery, delivery.id).status == "pending"
