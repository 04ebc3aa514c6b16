"""The whole loop in a real browser, one person per role, in English and in French, nothing done
through the API but building the world (two organisations and their agreement):

1. the sending office's case worker registers a case, records the person's consent with its
   scanned form (the consent leaves legal status out), checks a referral before sending it
   (legal status withheld, named) and sends it;
2. the partner's case worker opens it (the gate releases it), acknowledges and accepts it;
3. a second referral is sent; the person then withdraws consent: the page says first that the
   unanswered referral will be cancelled and the accepted one stays the partner's, and the
   withdrawal does exactly that;
4. the partner sees the second referral cancelled, and why;
5. the beneficiary's statement, on screen and as PDF, names the partner and what it received.

The canary: the withheld category's value appears in no page either party sees (rendered or
as sent by the server) and not in the PDF.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pypdf import PdfReader

from hub.referrals.models import Referral
from tests.console.test_consents_browser import scanned_form_png
from tests.support.browser import sign_in_page
from tests.support.outbox_drain import drain
from tests.support.people import person
from tests.support.referral_world import World

pytestmark = pytest.mark.browser

# the person's legal status: recorded on the case, never covered by the consent
WITHHELD = "Canary legal status: removal order 58-K pending"
GIVEN, FAMILY = "Halimatou", "Garba"
WORDS = {
    "en": {
        "locale": "en-GB",
        "withheld": "What is withheld, and why",
        "legal_status": "Legal status",
        "cancelled": "1 referral will be cancelled",
        "why": "Why: The consent was withdrawn",
        "statement": "Statement of disclosures",
        "service": "Psychosocial support",
    },
    "fr": {
        "locale": "fr-FR",
        "withheld": "Ce qui est retenu, et pourquoi",
        "legal_status": "Statut juridique",
        "cancelled": "1 orientation sera annulée",
        "why": "Motif : Le consentement a été retiré",
        "statement": "Relevé des communications",
        "service": "Soutien psychosocial",
    },
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_referral_from_registration_to_withdrawal_and_the_statement(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
) -> None:
    words = WORDS[language]
    base, tag = live_hub.url, f"{language}-story"
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    partner = person(world.runtime, world.recipient.organization_id, "case_worker")

    def look(page: Any, name: str) -> None:
        source = page.request.get(page.url).text()
        assert WITHHELD not in source and WITHHELD not in page.content(), name
        assert GIVEN not in page.title() and GIVEN not in page.url
        axe_check(page)
        screenshot(page, f"{tag}-{name}")

    office = new_page(locale=words["locale"])
    sign_in_page(office, base, worker)

    # 1. registration: legal status is recorded like the rest
    reference = f"MRRM-NE-{uuid.uuid4().hex[:6].upper()}"
    office.goto(f"{base}/console/cases/new")
    office.fill("#external_ref", reference)
    office.fill("#birth_date", "1988-06-21")
    office.check("#sex-female")
    office.fill("#identity-given_name", GIVEN)
    office.fill("#identity-family_name", FAMILY)
    office.fill("#contact-phone", "+227 90 55 44 33")
    office.fill("#psychosocial-notes", "Sleeps badly since the crossing.")
    office.fill("#legal_status-status", WITHHELD)
    office.locator("main form button[type=submit]").click()
    office.wait_for_load_state()
    office.locator("main form button[type=submit]").first.click()  # check your answers: confirm
    office.wait_for_url(re.compile(rf"{base}/console/cases/\w+\?registered=1$"))
    case_id = office.url.split("/")[-1].split("?")[0]
    assert WITHHELD in office.content()  # the owner's own record shows it
    screenshot(office, f"{tag}-01-case")

    # the consent, with its scanned form: legal status is not among its categories
    office.goto(f"{base}/console/cases/{case_id}/consents/new")
    office.check("#given_by-subject")
    office.check("#method-written")
    office.select_option("#language", "fr")
    office.check("#purposes-psychosocial_support")
    for category in ("identity", "contact", "psychosocial"):
        office.check(f"#categories-{category}")
    office.check("#recipient_kinds-ngo")
    office.set_input_files(
        "#evidence",
        files=[{"name": "consent.png", "mimeType": "image/png", "buffer": scanned_form_png()}],
    )
    office.locator("main form button[type=submit]").click()
    office.wait_for_url(re.compile(rf"{base}/console/consents/\w+\?recorded=1$"))
    consent_id = office.url.split("/")[-1].split("?")[0]
    screenshot(office, f"{tag}-02-consent")

    def refer(note: str) -> str:
        office.goto(f"{base}/console/cases/{case_id}/refer")
        office.check("#service-psychosocial_support")
        office.locator("main form button[type=submit]").click()
        office.wait_for_url(re.compile(rf".*/console/cases/{case_id}/refer/recipient\?.*"))
        office.check(f"#recipient-{world.recipient.organization_id}")
        office.locator("main form button[type=submit]").click()
        office.wait_for_url(f"{base}/console/cases/{case_id}/refer/check")
        # before sending: legal status withheld, named, its value nowhere
        assert words["withheld"] in office.content()
        withheld = office.locator("dl.withheld dt").all_inner_texts()
        assert withheld == [words["legal_status"]]
        look(office, f"03-check-{note}")
        office.fill("#note", note)
        office.locator("main form[action$='/refer/send'] button[type=submit]").click()
        office.wait_for_url(re.compile(rf"{base}/console/referrals/\w+/sent$"))
        referral_id = str(office.url.split("/")[-2])
        drain(world.runtime)  # delivered to the partner's inbox
        return referral_id

    first = refer("first")

    # 2. the partner reads it (the gate releases what the consent covers), acknowledges, accepts
    desk = new_page(locale=words["locale"])
    sign_in_page(desk, base, partner)
    desk.goto(f"{base}/console/received/{first}")
    assert GIVEN in desk.content()
    look(desk, "04-partner-referral")
    desk.click(f"form[action='/console/received/{first}/acknowledge'] button")
    desk.wait_for_url(re.compile(rf".*/console/received/{first}/done\?move=acknowledge$"))
    desk.goto(f"{base}/console/received/{first}")
    desk.click(f"form[action='/console/received/{first}/accept'] button")
    desk.wait_for_url(re.compile(rf".*/console/received/{first}/done\?move=accept$"))
    with world.runtime.sessions() as db:
        assert db.get_one(Referral, first).status == "accepted"

    # 3. a second referral, then the withdrawal: told first, then done as told
    second = refer("second")
    office.goto(f"{base}/console/consents/{consent_id}/withdraw")
    assert words["cancelled"] in office.content()
    look(office, "05-withdraw-check")
    office.check("#method-verbal")
    office.locator("main form button[type=submit]").last.click()
    office.wait_for_url(f"{base}/console/consents/{consent_id}?withdrawn=1")
    drain(world.runtime)
    with world.runtime.sessions() as db:
        statuses = {r.id: (r.status, r.status_reason) for r in db.query(Referral)}
    assert statuses == {
        first: ("accepted", None),
        second: ("cancelled", "consent_withdrawn"),
    }

    # 4. the partner sees the second cancelled, and why
    desk.goto(f"{base}/console/received/{second}")
    assert words["why"] in re.sub(r"\s+", " ", desk.locator("ol.history").inner_text())
    look(desk, "06-partner-cancelled")

    # 5. the statement: the partner, what it received, never the withheld value
    office.goto(f"{base}/console/cases/{case_id}/statement")
    assert office.locator("h1").inner_text() == words["statement"]
    rows = office.locator("table.statement-table tbody tr")
    assert rows.count() >= 1
    assert "Partner NGO" in rows.nth(0).inner_text()
    assert words["service"] in office.locator("table.statement-table").inner_text()
    look(office, "07-statement")
    with office.expect_download() as download:
        office.locator(f"a[href$='statement.pdf?lang={language}']").click()
    pdf = download.value.path().read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert words["statement"] in text and "Partner NGO" in text
    assert WITHHELD not in text and WITHHELD.encode() not in pdf
