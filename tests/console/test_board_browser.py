"""The sending office's case worker in a real browser, in English and in French: the tracking
board (an overdue referral first, the figures drawn as charts with their tables), at a desktop's
width and a phone's, and a referral's history with why a consent officer denied it.

Screenshots of each page go to the run's screenshot folder (printed at the end of the run).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from hub.clock import utcnow
from hub.lifecycle.models import LifecycleEvent
from hub.referrals.models import Referral
from tests.support import factories
from tests.support.api import partner
from tests.support.browser import sign_in_page
from tests.support.outbox_drain import drain
from tests.support.people import person
from tests.support.referral_world import (
    AGREED,
    CANARY_NAME,
    CANARY_NOTE,
    PURPOSE,
    World,
)
from tests.support.reviews import consent_officer

pytestmark = pytest.mark.browser

PAGE_LIMIT = 100 * 1024
# what sticks out of a 360-pixel screen, for the failure's message
STICKING_OUT = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 361)
  .map(e => e.tagName + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))"""
WHY = "Legal status is not needed for psychosocial support: ask again without it."


def acknowledged_after(world: World, referral_id: str, who: Any, hours: float) -> None:
    """Acknowledged by `who` `hours` after it was sent, an hour ago (its times set so)."""
    assert world.act(referral_id, "acknowledge", who).status_code == 200
    sent_at = utcnow() - timedelta(hours=hours + 1)
    with world.runtime.sessions.begin() as db:
        db.execute(
            update(Referral)
            .where(Referral.id == referral_id)
            .values(sent_at=sent_at, created_at=sent_at)
        )
        for to_status, at in (
            ("sent", sent_at),
            ("acknowledged", sent_at + timedelta(hours=hours)),
        ):
            db.execute(
                update(LifecycleEvent)
                .where(
                    LifecycleEvent.object_id == referral_id, LifecycleEvent.to_status == to_status
                )
                .values(at=at)
            )


def office(world: World) -> tuple[str, str]:
    """The sending office's referrals to two partners, in several statuses: (the overdue one,
    the one a consent officer denied)."""
    centre = partner(
        world.runtime,
        world.api,
        "Centre d'écoute et d'accompagnement de Tahoua",
        services=["psychosocial_support"],
    )
    with world.runtime.sessions.begin() as db:
        factories.agreement(
            db,
            world.runtime.policy,
            world.sender.organization_id,
            centre.organization_id,
            [PURPOSE],
            AGREED,
        )
    for hours in (3, 9, 30):
        acknowledged_after(world, world.sent(), world.recipient, hours)
    accepted = world.sent(urgency="high")
    acknowledged_after(world, accepted, world.recipient, 2)
    assert world.act(accepted, "accept", world.recipient).status_code == 200
    for hours in (20, 52):
        acknowledged_after(
            world, world.sent(to_organization_id=centre.organization_id), centre, hours
        )
    world.sent(to_organization_id=centre.organization_id, urgency="emergency")
    overdue = world.sent()
    with world.runtime.sessions.begin() as db:
        db.execute(
            update(Referral)
            .where(Referral.id == overdue)
            .values(acknowledge_by=utcnow() - timedelta(hours=5))
        )
    # held for review (a sensitive category), then denied with the officer's reasons
    case_id = world.case()
    world.consent(case_id, categories=["identity", "contact", "psychosocial", "legal_status"])
    held = world.refer(case_id)
    assert held.status_code == 202, held.text
    decided = world.api.post(
        f"/v1/reviews/{held.json()['review_id']}/deny",
        json={"justification": WHY},
        headers=world.officer.headers
        | {"On-Behalf-Of": consent_officer(world.runtime, world.sender.organization_id)},
    )
    assert decided.status_code == 200, decided.text
    drain(world.runtime)  # the decision moves the referral through the outbox
    return overdue, str(held.json()["id"])


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_case_worker_follows_the_offices_referrals(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
) -> None:
    base, tag = live_hub.url, f"{language}-board"
    overdue, denied = office(world)
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    locale = "fr-FR" if language == "fr" else "en-GB"

    page = new_page(locale=locale)
    sign_in_page(page, base, worker)
    page.click("nav.main-nav a[href='/console/board']")
    page.wait_for_url(f"{base}/console/board")
    assert page.locator("html").get_attribute("lang") == language

    # the overdue referral leads; each row says its status in words and the time since
    first = page.locator("table.queue").first.locator("tbody tr").first
    assert first.locator(f"a[href='/console/board/referrals/{overdue}']").count() == 1
    assert ("En retard" if language == "fr" else "Overdue") in first.inner_text()
    # the three charts, each an image with a name, and its table of numbers beside it
    charts = page.get_by_role("img")
    names = [charts.nth(i).get_attribute("aria-labelledby") for i in range(charts.count())]
    assert len([n for n in names if n and n.startswith("chart-")]) == 3
    by_status = "Orientations par statut" if language == "fr" else "Referrals by status"
    assert page.get_by_role("img", name=by_status).count() == 1
    status_rows = page.locator("#table-status tbody tr")
    assert status_rows.count() == 4  # sent, acknowledged, accepted, denied
    assert ("Refusée" if language == "fr" else "Denied") in status_rows.last.inner_text()
    ack = page.locator("#table-acknowledgement").inner_text()
    # the partner NGO: 3, 9, 30 and 2 hours, median 6; the centre: 20 and 52 hours (and one
    # waiting), median 36, the slowest first
    assert ack.index("Tahoua") < ack.index("Partner NGO")
    assert "36" in ack and "6" in ack
    html = page.content()
    assert CANARY_NAME not in html and CANARY_NOTE not in html and WHY not in html
    axe_check(page)
    screenshot(page, f"{tag}-01-board")
    assert page_weight(page, page.url) < PAGE_LIMIT

    # a phone's width: nothing wider than the screen
    narrow = new_page(
        locale=locale, width=360, height=740, storage_state=page.context.storage_state()
    )
    narrow.goto(f"{base}/console/board")
    wide = narrow.evaluate(STICKING_OUT)
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 360, wide
    axe_check(narrow)
    screenshot(narrow, f"{tag}-02-board-360px")
    narrow.locator("#figures").scroll_into_view_if_needed()
    narrow.locator("#figure-acknowledgement").scroll_into_view_if_needed()

    # the denied referral's history: the officer's reasons, as the API gives them to the sender
    page.goto(f"{base}/console/board?show=closed")
    page.click(f"a[href='/console/board/referrals/{denied}']")
    page.wait_for_url(f"{base}/console/board/referrals/{denied}")
    assert WHY in page.locator("#review").inner_text()
    assert page.locator("li.event").count() >= 2
    assert CANARY_NAME not in page.title() and denied[:8] in page.title()
    axe_check(page)
    screenshot(page, f"{tag}-03-history-denied")
    assert page_weight(page, page.url) < PAGE_LIMIT

    page.goto(f"{base}/console/board/referrals/{overdue}")
    axe_check(page)
    screenshot(page, f"{tag}-04-history-overdue")
    assert re.search(r"/console/board/referrals/[0-9a-f]+$", page.url)
