"""The partner's case worker in a real browser, in English and in French: a referral sent to the
partner through the API, the received inbox, the referral read through the consent gate (and
accounted for), acknowledged then accepted; another declined after the form's error; a transfer
offer read and accepted. A withheld category's value appears nowhere in any page's HTML.

Screenshots of each page go to the run's screenshot folder (printed at the end of the run).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from hub.cases.models import Case
from hub.disclosures.models import Disclosure
from hub.referrals.models import Referral
from hub.transfers.models import Transfer
from tests.support import factories
from tests.support.browser import sign_in_page
from tests.support.people import Person, person
from tests.support.referral_world import AGREED, CANARY_NAME, World
from tests.support.transfer_world import CANARY_PLAN, plan

pytestmark = pytest.mark.browser

PAGE_LIMIT = 100 * 1024
# the value of a category the consent does not cover: withheld at sending, shown nowhere
CANARY_WITHHELD = "Canary withheld: deportation order 77-B, irregular stay since 2019"
# the value of a category a newer version of the consent no longer covers: withheld at reading
CANARY_NARROWED = "+227 96 66 66 66"


def case(world: World) -> str:
    return world.case(
        data={
            "identity": {"given_name": CANARY_NAME, "family_name": "Moussa"},
            "contact": {"phone": CANARY_NARROWED},
            "psychosocial": {"notes": "sleep problems, nightmares since the crossing"},
            "legal_status": {"status": CANARY_WITHHELD},
        }
    )


def referral(world: World, *, urgency: str, narrowed: bool = False) -> str:
    """Sent to the partner; with `narrowed`, the consent then stops covering contact details."""
    case_id = case(world)
    consent = world.consent(case_id)
    answer = world.refer(case_id, urgency=urgency)
    assert answer.status_code == 201, answer.text
    if narrowed:
        world.consent(case_id, categories=["identity", "psychosocial"], supersedes=consent["id"])
    return str(answer.json()["id"])


def transfer(world: World) -> tuple[str, str]:
    """A case transfer offered to the partner (agreed, consented): (transfer id, case id)."""
    with world.runtime.sessions.begin() as db:
        factories.agreement(
            db,
            world.runtime.policy,
            world.sender.organization_id,
            world.recipient.organization_id,
            ["case_transfer"],
            AGREED,
        )
    case_id = case(world)
    world.consent(case_id, purposes=["case_transfer"])
    body = {"case_id": case_id, "to_organization_id": world.recipient.organization_id}
    answer = world.api.post(
        "/v1/transfers", json={**body, "plan": plan()}, headers=world.sender.headers
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"]), case_id


def disclosed(world: World, **where: str) -> list[Disclosure]:
    with world.runtime.sessions() as db:
        query = select(Disclosure).filter_by(**where)
        return list(db.scalars(query))


def status(world: World, model: type[Referral] | type[Transfer], object_id: str) -> str:
    with world.runtime.sessions() as db:
        return db.get_one(model, object_id).status


def no_canary(page: Any) -> None:
    html = page.content()
    assert CANARY_WITHHELD not in html
    assert "deportation" not in html.lower()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_partner_case_worker_answers_a_referral_and_a_transfer(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
    allow_console: list[re.Pattern[str]],
) -> None:
    # the decline form sent back with its error answers 400, which the browser logs
    allow_console.append(re.compile(r"status of 400"))
    base, tag = live_hub.url, f"{language}-partner"
    normal = referral(world, urgency="normal")
    urgent = referral(world, urgency="emergency", narrowed=True)
    offered, offered_case = transfer(world)
    worker: Person = person(world.runtime, world.recipient.organization_id, "case_worker")

    def check(name: str) -> None:
        no_canary(page)
        axe_check(page)
        screenshot(page, f"{tag}-{name}")

    # sign in: a case worker has no second factor to pass
    page = new_page(locale="fr-FR" if language == "fr" else "en-GB")
    sign_in_page(page, base, worker)
    assert page.locator("html").get_attribute("lang") == language
    nav = page.locator("nav.main-nav").inner_text()
    assert re.search(r"\(2\)", nav) and re.search(r"\(1\)", nav)
    check("01-home")

    # the inbox: the emergency first; a referral goes by its number, never a name
    page.click("nav.main-nav a[href='/console/received']")
    page.wait_for_url(f"{base}/console/received")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 2
    assert urgent in (rows.nth(0).locator("a").get_attribute("href") or "")
    assert CANARY_NAME not in page.content()
    check("02-inbox")
    assert page_weight(page, page.url) < PAGE_LIMIT

    # opening it asks the gate and records the disclosure, in the person's name
    assert disclosed(world, referral_id=normal) == []
    rows.nth(1).locator("a").click()
    page.wait_for_url(f"{base}/console/received/{normal}")
    assert CANARY_NAME in page.content()  # released: on the record itself only
    assert CANARY_NAME not in page.title()
    [read] = disclosed(world, referral_id=normal)
    assert (read.channel, read.categories) == ("inbox", ["contact", "identity", "psychosocial"])
    check("03-referral")
    assert page_weight(page, page.url) < PAGE_LIMIT

    page.click(f"form[action='/console/received/{normal}/acknowledge'] button")
    page.wait_for_url(re.compile(rf".*/console/received/{normal}/done\?move=acknowledge$"))
    assert status(world, Referral, normal) == "acknowledged"
    check("04-acknowledged")
    page.goto(f"{base}/console/received/{normal}")
    page.click(f"form[action='/console/received/{normal}/accept'] button")
    page.wait_for_url(re.compile(rf".*/console/received/{normal}/done\?move=accept$"))
    assert status(world, Referral, normal) == "accepted"
    check("05-accepted")

    # the other: the consent no longer covers the contact details, named but not shown
    page.goto(f"{base}/console/received/{urgent}")
    assert CANARY_NARROWED not in page.content()
    [read] = disclosed(world, referral_id=urgent)
    assert read.categories == ["identity", "psychosocial"]
    check("06-referral-narrowed")
    page.click(f"a[href='/console/received/{urgent}/decline']")
    page.wait_for_url(f"{base}/console/received/{urgent}/decline")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".error-summary a[href='#reason']").is_visible()
    check("07-decline-error")
    page.fill("#reason", "No counsellor free before next month.")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(rf".*/console/received/{urgent}/done\?move=decline$"))
    assert status(world, Referral, urgent) == "declined"
    check("08-declined")

    # the transfer offer: the plan and the short summary, nothing of the case before accepting
    page.click("nav.main-nav a[href='/console/offers']")
    page.wait_for_url(f"{base}/console/offers")
    check("09-offers")
    page.click(f"a[href='/console/offers/{offered}']")
    page.wait_for_url(f"{base}/console/offers/{offered}")
    assert CANARY_PLAN in page.content() and CANARY_NAME not in page.content()
    [read] = disclosed(world, transfer_id=offered)
    assert (read.channel, read.categories) == ("inbox", [])
    check("10-offer")
    page.click(f"form[action='/console/offers/{offered}/accept'] button")
    page.wait_for_url(re.compile(rf".*/console/offers/{offered}/done\?move=accept$"))
    assert status(world, Transfer, offered) == "completed"
    with world.runtime.sessions() as db:
        owner = db.get_one(Case, offered_case).owner_organization_id
    assert owner == world.recipient.organization_id
    check("11-offer-accepted")

    # a small phone: the inbox still reads, nothing wider than the screen
    narrow = new_page(
        locale="fr-FR" if language == "fr" else "en-GB",
        width=360,
        height=740,
        storage_state=page.context.storage_state(),
    )
    narrow.goto(f"{base}/console/received?show=closed")
    screenshot(narrow, f"{tag}-12-closed-360px")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 360
    narrow.goto(f"{base}/console/received/{normal}")
    screenshot(narrow, f"{tag}-13-referral-360px")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 360
