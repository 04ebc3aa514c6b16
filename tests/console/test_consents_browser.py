"""The case worker records a consent with its scanned form in a real browser, in English and in
French: the form with one mistake (the summary links to the field), corrected; the file chosen
as a phone's camera would give it; the consent's page and the scanned form; then withdrawing
it, seeing first which referral is cancelled and which recipient is told, and confirming.
Every page passes the accessibility check and fits a 360-pixel screen; no name in a title or
an address.

Screenshots of each page go to the run's screenshot folder (printed at the end of the run).
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from hub.referrals.models import Referral
from tests.support.browser import sign_in_page
from tests.support.outbox_drain import drain
from tests.support.people import person
from tests.support.referral_world import CANARY_NAME, World

pytestmark = pytest.mark.browser

PAGE_LIMIT = 100 * 1024
WITNESS = "Staff 0042"
WORDS = {
    "en": {
        "record": "Record a consent",
        "save": "Record the consent",
        "problem": "There is a problem",
        "no_purpose": "Choose at least one purpose.",
        "recorded": "Consent recorded",
        "attached": "A scanned form is attached",
        "view": "View the scanned form",
        "back": "Back to the consent",
        "withdraw": "Withdraw the consent",
        "cancelled": "1 referral will be cancelled",
        "told": "Who is told",
        "withdrawn": "Consent withdrawn",
        "status": "Withdrawn",
    },
    "fr": {
        "record": "Enregistrer un consentement",
        "save": "Enregistrer le consentement",
        "problem": "Il y a un problème",
        "no_purpose": "Choisissez au moins une finalité.",
        "recorded": "Consentement enregistré",
        "attached": "Un formulaire scanné est joint",
        "view": "Voir le formulaire scanné",
        "back": "Retour au consentement",
        "withdraw": "Retirer le consentement",
        "cancelled": "1 orientation sera annulée",
        "told": "Qui est averti",
        "withdrawn": "Consentement retiré",
        "status": "Retiré",
    },
}


def scanned_form_png(width: int = 120, height: int = 160) -> bytes:
    """A real grey PNG with a dark band (a page with a signature line, roughly)."""
    rows = b"".join(
        b"\x00" + bytes([40 if height * 2 // 3 <= y < height * 2 // 3 + 4 else 235] * width)
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _fits(page: Any, screenshot: Callable[[Any, str], None], name: str) -> None:
    """The page on a small phone: nothing runs off the side."""
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot(page, f"{name}-360px")
    wide = page.evaluate(
        "[...document.querySelectorAll('main *')]"
        ".filter(e => e.getBoundingClientRect().right > 360)"
        ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, wide
    page.set_viewport_size({"width": 1280, "height": 900})


def _no_name(page: Any) -> None:
    assert CANARY_NAME not in page.title() and CANARY_NAME not in page.url
    assert WITNESS not in page.title()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_case_worker_records_then_withdraws_a_consent(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
    page_weight: Callable[[Any, str], int],
    allow_console: list[Any],
) -> None:
    allow_console.append(re.compile("status of 400"))
    words = WORDS[language]
    base = live_hub.url
    case_id = world.case()
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    tag = f"{language}-consent"

    page = new_page(locale="fr-FR" if language == "fr" else "en-GB")
    sign_in_page(page, base, worker)

    # from the case's page to the form
    page.goto(f"{base}/console/cases/{case_id}")
    page.get_by_role("link", name=words["record"]).click()
    page.wait_for_url(f"{base}/console/cases/{case_id}/consents/new")
    axe_check(page)
    screenshot(page, f"{tag}-01-form")
    _fits(page, screenshot, f"{tag}-01-form")

    # the form, without a purpose
    page.check("#given_by-subject")
    page.check("#method-written")
    page.fill("#witness", WITNESS)
    page.select_option("#language", "fr")
    for category in ("identity", "contact", "psychosocial"):
        page.check(f"#categories-{category}")
    page.check("#recipient_kinds-ngo")
    page.check("#excluded_kinds-government")
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    assert words["problem"] in summary.inner_text()
    link = summary.get_by_role("link", name=words["no_purpose"])
    assert link.get_attribute("href") == "#purposes-psychosocial_support"
    assert page.locator("#purposes-error").inner_text().strip() == words["no_purpose"]
    assert page.input_value("#witness") == WITNESS  # what was typed is kept
    axe_check(page)
    screenshot(page, f"{tag}-02-form-error")
    _no_name(page)

    # corrected, with the scanned form as a phone's camera would give it
    page.check("#purposes-psychosocial_support")
    page.set_input_files(
        "#evidence",
        files=[{"name": "consent.png", "mimeType": "image/png", "buffer": scanned_form_png()}],
    )
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_url(re.compile(rf"{base}/console/consents/\w+\?recorded=1$"))
    consent_id = page.url.split("/")[-1].split("?")[0]

    # the consent's page: the record in words, the form attached, its version
    assert words["recorded"] in page.content()
    assert words["attached"] in page.content()
    assert WITNESS in page.content()
    _no_name(page)
    axe_check(page)
    screenshot(page, f"{tag}-03-consent")
    _fits(page, screenshot, f"{tag}-03-consent")
    assert page_weight(page, page.url) < PAGE_LIMIT

    page.get_by_role("link", name=words["view"]).click()
    page.wait_for_url(f"{base}/console/consents/{consent_id}/evidence")
    image = page.locator("img.evidence-image")
    image.wait_for()
    assert page.evaluate("document.querySelector('img.evidence-image').naturalWidth") == 120
    axe_check(page)
    screenshot(page, f"{tag}-04-scanned-form")
    page.get_by_role("link", name=words["back"]).click()
    page.wait_for_url(f"{base}/console/consents/{consent_id}")

    # a referral resting on it, delivered and read by the recipient
    referral = world.refer(case_id, categories=["identity", "contact", "psychosocial"])
    assert referral.status_code == 201, referral.text
    referral_id = referral.json()["id"]
    drain(world.runtime)
    assert world.get(referral_id, world.recipient).json()["payload"]

    # withdrawing: what it will do, first
    page.get_by_role("link", name=words["withdraw"]).click()
    page.wait_for_url(f"{base}/console/consents/{consent_id}/withdraw")
    assert words["cancelled"] in page.content()
    told = page.locator("main").inner_text().split(words["told"])[1]
    assert "Partner NGO" in told
    _no_name(page)
    axe_check(page)
    screenshot(page, f"{tag}-05-withdraw-check")
    _fits(page, screenshot, f"{tag}-05-withdraw-check")
    with world.runtime.sessions() as db:
        assert db.get_one(Referral, referral_id).status == "delivered"

    page.check("#method-verbal")
    page.locator("main form").get_by_role("button", name=words["withdraw"]).click()
    page.wait_for_url(f"{base}/console/consents/{consent_id}?withdrawn=1")
    assert words["withdrawn"] in page.content()
    assert words["status"] in page.locator("main").inner_text()
    drain(world.runtime)
    with world.runtime.sessions() as db:
        cancelled = db.get_one(Referral, referral_id)
        assert (cancelled.status, cancelled.status_reason) == ("cancelled", "consent_withdrawn")
    axe_check(page)
    screenshot(page, f"{tag}-06-withdrawn")
    _fits(page, screenshot, f"{tag}-06-withdrawn")
