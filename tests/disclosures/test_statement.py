"""The beneficiary's statement: its content from the accounting of disclosures, and its words
in English and in French (dates in the locale)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.cases.models import Case
from hub.console import statement_words
from hub.disclosures import statement
from hub.disclosures.statement import ConsentUsed, Entry, Statement
from hub.runtime import Runtime
from hub.settings import Settings
from tests.support.referral_world import CANARY_NAME, World

MADE = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def words() -> None:
    """The console's words, as the hub installs them when it starts (`hub.wiring`)."""
    statement_words.install()


def made_up(entries: tuple[Entry, ...] = ()) -> Statement:
    """A statement with known dates, for the words (no database)."""
    return Statement(
        reference="NE-AGZ-2026-0042", holder="OIM Agadez", made_at=MADE, entries=entries
    )


ENTRY = Entry(
    at=datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
    recipient="Centre Espoir",
    recipient_kind="ngo",
    purpose="psychosocial_support",
    request="referral",
    channel="inbox",
    categories=("contact", "identity"),
    consents=(
        ConsentUsed(
            given_by="caregiver",
            method="written",
            given_at=datetime(2026, 11, 3, 10, 0, tzinfo=UTC),
            version=2,
            withdrawn_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        ),
    ),
)


def test_the_statement_holds_each_disclosure_oldest_first(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    first = world.refer(case_id).json()["id"]
    second = world.refer(case_id, categories=["identity"]).json()["id"]
    with world.runtime.sessions() as db:
        empty = statement.assemble(db=db, case=db.get_one(Case, case_id))
    assert empty.entries == () and empty.holder == "IOM Agadez"
    world.get(first, world.recipient)
    world.get(second, world.recipient)

    with world.runtime.sessions() as db:
        case = db.get_one(Case, case_id)
        content = statement.assemble(db=db, case=case, at=MADE)
    assert content.reference == case.external_ref and content.made_at == MADE
    earliest, latest = content.entries
    assert earliest.at <= latest.at
    # legal_status was asked for, but the consent does not cover it: withheld, so not listed
    assert earliest.categories == ("contact", "identity", "psychosocial")
    assert latest.categories == ("identity",)
    assert earliest.recipient == "Partner NGO" and earliest.recipient_kind == "ngo"
    assert earliest.purpose == "psychosocial_support"
    assert (earliest.request, earliest.channel) == ("referral", "inbox")
    (used,) = earliest.consents
    assert (used.given_by, used.method, used.version) == ("subject", "written", 1)
    assert used.withdrawn_at is None

    # a withdrawal afterwards shows on the consent the disclosures rested on
    world.withdraw(consent["id"])
    with world.runtime.sessions() as db:
        content = statement.assemble(db=db, case=db.get_one(Case, case_id))
    assert all(entry.consents[0].withdrawn_at is not None for entry in content.entries)


def test_the_statement_in_english() -> None:
    text = statement.in_words(made_up((ENTRY,)), "en")
    assert text.title == "Statement of disclosures"
    assert dict(text.facts) == {
        "Case reference": "NE-AGZ-2026-0042",
        "Held by": "OIM Agadez",
        "Made on": "28 Nov 2026, 14:05 UTC",
        "Disclosures": "1",
    }
    assert text.headings[0] == "When" and len(text.headings) == 5
    ((when, who, what, why, consent),) = text.rows
    assert when == ("28 Nov 2026, 09:30 UTC", "read on the referral hub")
    assert who == ("Centre Espoir", "NGO")
    assert what == ("Contact details", "Identity")
    assert why == ("Psychosocial support", "Referral")
    assert consent == (
        "Given by your parent or caregiver on 3 Nov 2026",
        "Written, version 2",
        "Withdrawn since, on 30 Nov 2026",
    )
    assert "speak to OIM Agadez" in text.closing[0]
    # no code or id where words belong
    printed = " ".join(" ".join(lines) for row in text.rows for lines in row)
    for code in ("psychosocial_support", "ngo", "inbox", "written", "subject"):
        assert code not in printed.split()


def test_the_statement_in_french_with_dates_in_the_locale() -> None:
    text = statement.in_words(made_up((ENTRY,)), "fr")
    assert text.title == "Relevé des communications"
    facts = dict(text.facts)
    assert facts["Référence du dossier"] == "NE-AGZ-2026-0042"
    assert facts["Établi le"] == "28 nov. 2026, 14:05 UTC"
    ((when, who, what, why, consent),) = text.rows
    assert when == ("28 nov. 2026, 09:30 UTC", "consulté sur la plateforme d'orientation")
    assert who == ("Centre Espoir", "ONG")
    assert what == ("Coordonnées", "Identité")
    assert why == ("Soutien psychosocial", "Orientation")
    assert consent == (
        "Donné par votre parent ou tuteur·rice le 3 nov. 2026",
        "Écrit, version 2",
        "Retiré depuis, le 30 nov. 2026",
    )
    assert text.page_of == "Page {page} sur {pages}"
    assert "Statement" not in text.title


def test_a_statement_with_nothing_disclosed_says_so() -> None:
    english = statement.in_words(made_up(), "en")
    assert english.rows == ()
    assert english.empty == "No information about you has been shared with another organisation."
    french = statement.in_words(made_up(), "fr")
    assert french.empty.startswith("Aucune information vous concernant")
    assert dict(french.facts)["Communications"] == "0"


def test_a_disclosure_without_a_consent_or_a_purpose_says_so() -> None:
    bare = Entry(
        at=MADE,
        recipient="Ministère",
        recipient_kind="government",
        purpose=None,
        request="transfer",
        channel="transfer",
        categories=("identity",),
        consents=(),
    )
    ((when, who, _, why, consent),) = statement.in_words(made_up((bare,)), "en").rows
    assert when[1] == "handed over with the case"
    assert who == ("Ministère", "Government service")
    assert why == ("Not recorded", "Case transfer")
    assert consent == ("No consent recorded",)


def test_only_english_and_french() -> None:
    with pytest.raises(ValueError, match="no statement in 'de'"):
        statement.in_words(made_up(), "de")


def test_the_statement_names_no_one(world: World) -> None:
    case_id = world.case()
    world.consent(case_id)
    world.get(world.refer(case_id).json()["id"], world.recipient)
    with world.runtime.sessions() as db:
        content = statement.assemble(db=db, case=db.get_one(Case, case_id))
    for language in statement.LANGUAGES:
        text = statement.in_words(content, language)
        assert CANARY_NAME not in repr(text)


def test_the_hub_installs_the_consoles_words(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statement, "_writer", [])
    with pytest.raises(RuntimeError, match="no statement writer"):
        statement.in_words(made_up(), "en")
    runtime = Runtime(settings)
    try:
        assert statement.in_words(made_up(), "fr").title == "Relevé des communications"
    finally:
        runtime.dispose()
