"""The service directory, supervision on the board, the referral report and a referral to a
full service, in a real browser in English and French: the filters narrow the search, an
organisation changes its own service's capacity and cannot edit another's, the board's tree
shows an office below's referral without its data, the report shows a small cell as "<5" and
downloads as CSV, and a full service asks why. Each page is checked by axe-core and fits a
phone; screenshots go to the run's screenshot folder."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest

from tests.console.test_directory_pages import ARLIT, NIAMEY, add_service, office_below
from tests.support.people import Person, person
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World

pytestmark = pytest.mark.browser

PAGE_LIMIT = 100 * 1024
STICKING_OUT = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 361)
  .map(e => e.tagName + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))"""
LANGUAGES = ["en", "fr"]


def locale_of(language: str) -> str:
    return "fr-FR" if language == "fr" else "en-GB"


def sign_in(page: Any, base: str, who: Person) -> None:
    """Through the pages; a consent officer or an administrator enrols a second factor."""
    page.goto(f"{base}/console")
    page.fill("#email", who.email)
    page.fill("#password", who.password)
    page.press("#password", "Enter")
    if who.role == "case_worker":
        page.wait_for_url(f"{base}/console")
        return
    page.wait_for_url(re.compile(r".*/console/second-factor/enrol$"))
    who.totp_secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(who.totp_secret).now())
    page.get_by_role("button").last.click()
    page.wait_for_load_state()
    page.locator("main a.button").click()
    page.wait_for_url(f"{base}/console")


def fits_a_phone(new_page: Callable[..., Any], page: Any, language: str, url: str) -> Any:
    narrow = new_page(
        locale=locale_of(language),
        width=360,
        height=740,
        storage_state=page.context.storage_state(),
    )
    narrow.goto(url)
    wide = narrow.evaluate(STICKING_OUT)
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 360, wide
    return narrow


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_directory_is_searched_and_its_services_kept_by_their_organisation(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
) -> None:
    base, tag = live_hub.url, f"{language}-directory"
    arlit = add_service(world, world.recipient, ARLIT)
    niamey = add_service(world, world.outsider, NIAMEY)
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    page = new_page(locale=locale_of(language))
    sign_in(page, base, worker)
    page.click("nav.main-nav a[href='/console/services']")
    page.wait_for_url(f"{base}/console/services")
    assert page.locator("#services tbody tr").count() == 2
    # a region finds the services of its communes, and no other
    page.fill("#area", "NE-AG")
    page.get_by_role(
        "button", name="Appliquer les filtres" if language == "fr" else "Apply the filters"
    ).click()
    page.wait_for_url(re.compile(r".*area=NE-AG.*"))
    rows = page.locator("#services tbody tr")
    assert rows.count() == 1 and "Écoute Arlit" in rows.first.inner_text()
    assert ("À vérifier" if language == "fr" else "To verify") in rows.first.inner_text()
    axe_check(page)
    screenshot(page, f"{tag}-01-search")
    assert page_weight(page, page.url) < PAGE_LIMIT
    page.fill("#age", "8")
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(re.compile(r".*age=8.*"))
    assert page.locator("#services").count() == 0  # Arlit takes 12 and older
    fits_a_phone(new_page, page, language, f"{base}/console/services?area=NE")

    page.goto(f"{base}/console/services/{arlit}")
    text = page.locator("main").inner_text()
    assert ("Limitée" if language == "fr" else "Limited") in text
    assert page.locator("#verification").count() == 1
    assert page.locator(f"form[action='/console/services/{arlit}/capacity']").count() == 0
    axe_check(page)
    screenshot(page, f"{tag}-02-service")
    fits_a_phone(new_page, page, language, page.url)

    # the partner NGO's administrator marks its own service full, and cannot edit another's
    admin = person(world.runtime, world.recipient.organization_id, "admin")
    keeper = new_page(locale=locale_of(language))
    sign_in(keeper, base, admin)
    keeper.goto(f"{base}/console/services/{arlit}")
    keeper.check("#capacity-full")
    keeper.get_by_role(
        "button", name="Enregistrer la capacité" if language == "fr" else "Save the capacity"
    ).click()
    keeper.wait_for_url(re.compile(rf".*/console/services/{arlit}\?done=capacity$"))
    assert keeper.locator(".panel-success").count() == 1
    assert ("Complet" if language == "fr" else "Full") in keeper.locator("main").inner_text()
    axe_check(keeper)
    screenshot(keeper, f"{tag}-03-capacity-saved")
    keeper.goto(f"{base}/console/services/{niamey}")
    assert keeper.locator("form[action$='/capacity']").count() == 0
    answer = keeper.goto(f"{base}/console/services/{niamey}/edit")
    assert answer is not None and answer.status == 404
    # a new service: an empty form says what is missing, at the top and beside the field
    keeper.goto(f"{base}/console/services/new")
    keeper.locator("main form button[type=submit]").click()
    assert keeper.locator(".error-summary a[href='#name']").count() == 1
    axe_check(keeper)
    screenshot(keeper, f"{tag}-04-new-service-errors")
    fits_a_phone(new_page, keeper, language, f"{base}/console/services/{arlit}/edit")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_board_shows_the_offices_below_without_their_data(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
) -> None:
    base, tag = live_hub.url, f"{language}-supervision"
    world.sent()
    _, theirs = office_below(world)
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    page = new_page(locale=locale_of(language))
    sign_in(page, base, worker)
    page.goto(f"{base}/console/board")
    assert page.locator(f"a[href='/console/board/below/referrals/{theirs}']").count() == 0
    page.click("#show-tree")
    page.wait_for_url(f"{base}/console/board?scope=tree")
    link = page.locator(f"a[href='/console/board/below/referrals/{theirs}']")
    assert link.count() == 1
    below = page.locator("#below").inner_text()
    assert "IOM Arlit antenna" in below and "Partner NGO" in below
    html = page.content()
    assert CANARY_NAME not in html and CANARY_NOTE not in html and "MRRM-NE-ARL" not in html
    axe_check(page)
    screenshot(page, f"{tag}-01-board-tree")
    assert page_weight(page, page.url) < PAGE_LIMIT
    fits_a_phone(new_page, page, language, f"{base}/console/board")
    link.click()
    page.wait_for_url(f"{base}/console/board/below/referrals/{theirs}")
    html = page.content()
    assert CANARY_NAME not in html and CANARY_NOTE not in html and "MRRM-NE-ARL" not in html
    assert theirs in page.locator("main").inner_text()
    axe_check(page)
    screenshot(page, f"{tag}-02-below-referral")
    fits_a_phone(new_page, page, language, page.url)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_report_hides_small_cells_and_downloads(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
) -> None:
    base, tag = live_hub.url, f"{language}-report"
    for _ in range(6):
        world.sent()
    for _ in range(5):
        world.sent(urgency="emergency")
    world.sent(urgency="high")
    officer = person(world.runtime, world.sender.organization_id, "consent_officer")
    page = new_page(locale=locale_of(language))
    sign_in(page, base, officer)
    page.click("nav.main-nav a[href='/console/reports']")
    page.wait_for_url(f"{base}/console/reports")
    page.uncheck("#group_by-service_type")
    page.uncheck("#group_by-status")
    page.check("#group_by-urgency")
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(re.compile(r".*run=1.*"))
    cells = page.locator("#counts tbody tr")
    shown = {
        cells.nth(i).locator("td").first.inner_text(): cells.nth(i).locator("td").last.inner_text()
        for i in range(cells.count())
    }
    high, emergency, normal = (
        ("Élevée", "Vitale", "Normale") if language == "fr" else ("High", "Emergency", "Normal")
    )
    assert shown == {high: "<5", emergency: "*", normal: "6"}
    assert "<5" in page.locator("#suppression").inner_text()
    axe_check(page)
    screenshot(page, f"{tag}-01-urgency")
    assert page_weight(page, page.url) < PAGE_LIMIT
    fits_a_phone(new_page, page, language, page.url)
    with page.expect_download() as info:
        page.locator("a[href^='/console/reports/referrals.csv']").click()
    with open(info.value.path(), encoding="utf-8") as downloaded:
        text = downloaded.read()
    header = "rubrique,élément,valeur" if language == "fr" else "section,item,value"
    assert text.startswith(header) and "<5" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_referral_to_a_full_service_asks_why(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
) -> None:
    base, tag = live_hub.url, f"{language}-refer-service"
    arlit = add_service(world, world.recipient, {**ARLIT, "capacity": "full"})
    case_id = world.case()
    world.consent(case_id)
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    page = new_page(locale=locale_of(language))
    sign_in(page, base, worker)
    page.goto(f"{base}/console/cases/{case_id}/refer/recipient?service_type=psychosocial_support")
    page.check(f"#service-{arlit}")
    axe_check(page)
    screenshot(page, f"{tag}-01-choose")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/console/cases/{case_id}/refer/check")
    assert page.locator("#service-refusal").count() == 1
    axe_check(page)
    screenshot(page, f"{tag}-02-full")
    fits = page.locator("#override_reason")
    fits.fill("The focal point agreed by phone to take her this week.")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "The focal point agreed by phone" in page.locator("main").inner_text()
    axe_check(page)
    screenshot(page, f"{tag}-03-check")
