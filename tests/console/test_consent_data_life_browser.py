"""The consent form's data life in a real browser, in English and in French: a period longer
than the policy allows for one of the purposes is refused beside its field, a shorter one is
recorded, and the consent's page says how long recipients keep the data."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.browser import sign_in_page
from tests.support.people import person
from tests.support.referral_world import World

pytestmark = pytest.mark.browser

WORDS = {
    "en": {
        "save": "Record the consent",
        "too_long": "The policy allows a shorter time for one of these purposes",
        "kept": "Recipients keep the data for",
        "period": "6 months after each time it is shared",
    },
    "fr": {
        "save": "Enregistrer le consentement",
        "too_long": "La politique autorise une durée plus courte pour l'une de ces finalités",
        "kept": "Durée de conservation par les destinataires",
        "period": "6 mois après chaque communication",
    },
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_consent_sets_how_long_recipients_keep_the_data(
    language: str,
    live_hub: Any,
    world: World,
    new_page: Callable[..., Any],
    axe_check: Callable[[Any], None],
    screenshot: Callable[[Any, str], None],
) -> None:
    words = WORDS[language]
    base = live_hub.url
    case_id = world.case()
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    tag = f"{language}-consent-data-life"

    page = new_page(locale="fr-FR" if language == "fr" else "en-GB")
    sign_in_page(page, base, worker)

    page.goto(f"{base}/console/cases/{case_id}/consents/new")
    page.check("#given_by-subject")
    page.check("#method-written")
    page.select_option("#language", "fr")
    page.check("#purposes-gbv_response")
    for category in ("identity", "contact"):
        page.check(f"#categories-{category}")
    page.check("#recipient_kinds-ngo")
    # two years: longer than gbv_response's maximum (a year)
    page.fill("#data_life_value", "2")
    page.select_option("#data_life_unit", "year")
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    link = summary.get_by_role("link", name=re.compile(re.escape(words["too_long"])))
    assert link.get_attribute("href") == "#data_life_value"
    assert words["too_long"] in page.locator("#data_life_value-error").inner_text()
    assert page.input_value("#data_life_value") == "2"  # kept as typed
    page.locator("#data_life_value").scroll_into_view_if_needed()
    axe_check(page)
    screenshot(page, f"{tag}-01-too-long")

    page.fill("#data_life_value", "6")
    page.select_option("#data_life_unit", "month")
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_url(re.compile(rf"{base}/console/consents/\w+\?recorded=1$"))
    row = page.locator("dl div", has_text=words["kept"])
    assert words["period"] in row.inner_text()
    axe_check(page)
    screenshot(page, f"{tag}-02-consent")
