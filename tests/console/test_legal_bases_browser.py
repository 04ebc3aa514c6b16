"""A disclosure without consent, on a legal basis, in a real browser, in English and in French:

1. a case worker refers a case that has no consent: the check page says the gate would refuse
   it, and offers to send on a legal basis; the basis's page asks which and why (a missing
   justification is in the error summary), the check on that basis says two officers must
   approve it and which data alone can leave; the referral is sent for review;
2. a consent officer approves it first (the page says a second officer is needed), then tries
   again and is told another officer must; a second officer approves it;
3. the recipient reads it (through the API): the office owes the person the news;
4. the case worker finds the person in "People to inform", records that the caregiver was told,
   and the case page and the statement name the legal basis.

Each page is checked with axe-core and photographed; the forms at 360 px too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from hub.legal_bases.models import PersonNotice
from hub.referrals.models import Referral
from hub.reviews.models import Review
from tests.console.test_workspace_browser import sign_in as officer_sign_in
from tests.support.browser import sign_in_page
from tests.support.outbox_drain import drain
from tests.support.people import person
from tests.support.referral_world import CANARY_NAME, World

pytestmark = pytest.mark.browser

NARROW = {"width": 360, "height": 740}
WIDE = {"width": 1280, "height": 900}
WORDS = {
    "en": {
        "locale": "en-GB",
        "cannot": "This referral cannot be sent",
        "basis_title": "Send without consent, on a legal basis",
        "write_why": "Write why the legal basis applies",
        "two": "Two consent officers must approve it",
        "justification": "She is unconscious at the clinic; the medical team needs her contact.",
        "first_recorded": "First approval recorded",
        "one_of_two": "1 of 2",
        "already": "You have already approved this request.",
        "approved": "Request approved",
        "inform": "People to inform",
        "recorded": "Recorded: the reminders have stopped.",
        "basis_case": "Legal basis: Vital interest",
        "basis_statement": "Legal basis: vital interest",
    },
    "fr": {
        "locale": "fr-FR",
        "cannot": "Cette orientation ne peut pas être envoyée",
        "basis_title": "Envoyer sans consentement, sur une base légale",
        "write_why": "Expliquez pourquoi la base légale s'applique",
        "two": "Deux responsables des consentements doivent l'approuver",
        "justification": "Elle est inconsciente au centre de santé ; l'équipe a besoin du contact.",
        "first_recorded": "Première approbation enregistrée",
        "one_of_two": "1 sur 2",
        "already": "Vous avez déjà approuvé cette demande.",
        "approved": "Demande approuvée",
        "inform": "Personnes à informer",
        "recorded": "Enregistré : les rappels ont cessé.",
        "basis_case": "Base légale : Intérêt vital",
        "basis_statement": "Base légale : intérêt vital",
    },
}


def _fits_narrow(page: Any, shot: Callable[[Any, str], Any], name: str) -> None:
    """The page on a small phone: photographed, and nothing runs off the side."""
    page.set_viewport_size(NARROW)
    shot(page, f"{name}-360px")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    page.set_viewport_size(WIDE)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_disclosure_on_a_legal_basis_from_the_request_to_the_person_told(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], Any],
    page_weight: Callable[[Any, str], int],
    allow_console: list[re.Pattern[str] | str],
) -> None:
    # the forms sent back with their errors answer 400 and 403, which the browser logs
    allow_console.append(re.compile(r"status of 40[03]"))
    words = WORDS[language]
    base, tag = live_hub.url, f"{language}-basis"
    case_id = world.case()  # no consent recorded
    worker = person(world.runtime, world.sender.organization_id, "case_worker")

    def look(page: Any, name: str) -> None:
        assert CANARY_NAME not in page.title() and CANARY_NAME not in page.url
        axe_check(page)
        screenshot(page, f"{tag}-{name}")

    # 1. the case worker: no consent, so the gate would refuse; a legal basis instead
    office = new_page(locale=words["locale"])
    sign_in_page(office, base, worker)
    office.goto(f"{base}/console/cases/{case_id}/refer")
    office.check("#service-psychosocial_support")
    office.locator("main form button[type=submit]").click()
    office.wait_for_url(re.compile(rf".*/console/cases/{case_id}/refer/recipient\?.*"))
    office.check(f"#recipient-{world.recipient.organization_id}")
    office.locator("main form button[type=submit]").click()
    office.wait_for_url(f"{base}/console/cases/{case_id}/refer/check")
    assert words["cannot"] in office.content()
    look(office, "01-check-refused")
    office.locator("form:has(input[name=basis]) button[type=submit]").click()
    office.wait_for_load_state()
    assert office.locator("h1").inner_text() == words["basis_title"]
    options = office.locator("#legal_basis option").evaluate_all("os => os.map(o => o.value)")
    assert options == ["", "vital_interest", "best_interests_determination"]
    look(office, "02-basis")

    # the basis chosen, no justification: the error summary leads to the field
    office.select_option("#legal_basis", "vital_interest")
    office.locator("form:has(#legal_basis) button[type=submit]").click()
    office.wait_for_load_state()
    summary = office.locator(".error-summary")
    assert words["write_why"] in summary.inner_text()
    assert summary.locator("a").get_attribute("href") == "#basis_justification"
    look(office, "03-basis-error")
    _fits_narrow(office, screenshot, f"{tag}-03-basis-error")

    office.fill("#basis_justification", words["justification"])
    office.locator("form:has(#legal_basis) button[type=submit]").click()
    office.wait_for_load_state()
    notice = office.locator("#basis-notice")
    assert words["two"] in notice.inner_text()
    # the basis's categories only: psychosocial and legal status are withheld
    withheld = office.locator("dl.withheld dt").count()
    assert withheld == 2
    look(office, "04-check-on-basis")
    _fits_narrow(office, screenshot, f"{tag}-04-check-on-basis")
    office.locator("form[action$='/refer/send'] button[type=submit]").click()
    office.wait_for_url(re.compile(rf"{base}/console/referrals/\w+/sent$"))
    referral_id = office.url.split("/")[-2]
    look(office, "05-sent")
    with world.runtime.sessions() as db:
        referral = db.get_one(Referral, referral_id)
        assert (referral.status, referral.legal_basis) == ("pending_review", "vital_interest")
        review_id = referral.review_id

    # 2. two consent officers; the first cannot be the second
    first = person(world.runtime, world.sender.organization_id, "consent_officer")
    desk = new_page(locale=words["locale"])
    officer_sign_in(desk, base, first, lambda page, name: None, tag)
    desk.goto(f"{base}/console/reviews/{review_id}")
    assert words["justification"] in desk.locator("#legal-basis").inner_text()
    look(desk, "06-review")
    assert page_weight(desk, desk.url) < 100 * 1024
    _fits_narrow(desk, screenshot, f"{tag}-06-review")
    desk.check("#outcome-approved")
    desk.fill("#justification", "Vital interest: agreed.")
    desk.locator("main form button[type=submit]").click()
    desk.wait_for_load_state()
    look(desk, "07-review-check")
    desk.locator("form:has(input[name=confirm]) button[type=submit]").click()
    desk.wait_for_load_state()
    assert desk.locator("h1").inner_text() == words["first_recorded"]
    look(desk, "08-first-approval")
    desk.goto(f"{base}/console/reviews/{review_id}")
    assert words["one_of_two"] in desk.locator("#legal-basis").inner_text()
    assert first.email in desk.locator("#legal-basis").inner_text()
    desk.check("#outcome-approved")
    desk.fill("#justification", "Once more.")
    desk.locator("main form button[type=submit]").click()
    desk.wait_for_load_state()
    assert words["already"] in desk.locator(".error-summary").inner_text()
    look(desk, "09-second-officer-required")
    with world.runtime.sessions() as db:
        assert db.get_one(Review, review_id).status == "pending"

    second = person(world.runtime, world.sender.organization_id, "consent_officer")
    other = new_page(locale=words["locale"])
    officer_sign_in(other, base, second, lambda page, name: None, f"{tag}-second")
    other.goto(f"{base}/console/reviews/{review_id}")
    other.check("#outcome-approved")
    other.fill("#justification", "Agreed, second.")
    other.locator("main form button[type=submit]").click()
    other.wait_for_load_state()
    other.locator("form:has(input[name=confirm]) button[type=submit]").click()
    other.wait_for_load_state()
    assert other.locator("h1").inner_text() == words["approved"]
    drain(world.runtime)

    # 3. the recipient reads it: the office owes the person the news
    assert world.get(referral_id, world.recipient).status_code == 200
    with world.runtime.sessions() as db:
        notice_id = db.scalars(
            select(PersonNotice.id).where(PersonNotice.referral_id == referral_id)
        ).one()

    # 4. the case worker records that the caregiver was told
    office.goto(f"{base}/console")
    nav = office.locator("nav.main-nav").get_by_text(words["inform"])
    assert "(1)" in nav.inner_text()
    nav.click()
    office.wait_for_url(f"{base}/console/person-notices")
    look(office, "10-people-to-inform")
    _fits_narrow(office, screenshot, f"{tag}-10-people-to-inform")
    assert page_weight(office, office.url) < 100 * 1024
    office.locator(f"a[href='/console/person-notices/{notice_id}']").first.click()
    office.wait_for_url(f"{base}/console/person-notices/{notice_id}")
    look(office, "11-notice")
    _fits_narrow(office, screenshot, f"{tag}-11-notice")
    office.check("#told_whom-caregiver")
    office.check("#told_how-in_person")
    office.locator("main form button[type=submit]").click()
    office.wait_for_url(f"{base}/console/person-notices/{notice_id}?recorded=1")
    assert words["recorded"] in office.content()
    look(office, "12-told")
    with world.runtime.sessions() as db:
        told = db.get_one(PersonNotice, notice_id)
        assert (told.told_whom, told.told_how) == ("caregiver", "in_person")

    office.goto(f"{base}/console/cases/{case_id}")
    assert words["basis_case"] in office.content()
    assert office.locator("#person-notices").count() == 1
    office.goto(f"{base}/console/cases/{case_id}/statement")
    assert words["basis_statement"] in office.locator("table.statement-table").inner_text()
    look(office, "13-statement")
    _fits_narrow(office, screenshot, f"{tag}-13-statement")
