"""The beneficiary's statement in the console's words (its catalogue, English and French).

Kept apart from the console's pages so the hub can install them without the web framework
(`hub.wiring`, for `hub` commands too): `install` makes `words` the statement's writer, so the
API's PDF (`GET /v1/cases/{id}/disclosures?format=pdf`) and the console's page say the same
sentences.
"""

from __future__ import annotations

from hub.console import i18n
from hub.console.labels import N_, labeller
from hub.disclosures import statement
from hub.disclosures.statement import ConsentUsed, Entry, Statement, StatementText
from hub.policy.legal_bases import CONSENT

# how the data reached the recipient, in the person's words
CHANNELS = {
    "inbox": N_("read on the referral hub"),
    "webhook": N_("sent to their system"),
    "fhir": N_("read by their system"),
    "transfer": N_("handed over with the case"),
}
REQUESTS = {"referral": N_("Referral"), "transfer": N_("Case transfer")}
GIVEN_BY = {
    "subject": N_("Given by you on %(day)s"),
    "caregiver": N_("Given by your parent or caregiver on %(day)s"),
}

# a disclosure that rested on a legal basis instead of consent: named, and said plainly
BASIS = N_("Legal basis: %(basis)s")
WITHOUT_CONSENT = N_("Shared without your consent")


def _in_sentence(label: str) -> str:
    """A basis's label inside a sentence ("Legal basis: vital interest"): its labels are written
    to stand alone, capitalised, in both languages."""
    return label[:1].lower() + label[1:]


def _consent_lines(consent: ConsentUsed, language: str) -> list[str]:
    gettext = i18n.translations(language).gettext
    label = labeller(gettext)
    given = GIVEN_BY.get(consent.given_by, N_("Given on %(day)s"))
    lines = [
        gettext(given) % {"day": i18n.format_day(consent.given_at, language)},
        gettext(N_("%(method)s, version %(version)s"))
        % {"method": label("consent_methods", consent.method), "version": consent.version},
    ]
    if consent.withdrawn_at is not None:
        lines.append(
            gettext(N_("Withdrawn since, on %(day)s"))
            % {"day": i18n.format_day(consent.withdrawn_at, language)}
        )
    return lines


def _row(entry: Entry, language: str) -> tuple[tuple[str, ...], ...]:
    gettext = i18n.translations(language).gettext
    label = labeller(gettext)
    consent: list[str] = []
    if entry.legal_basis != CONSENT:
        consent.append(
            gettext(BASIS) % {"basis": _in_sentence(label("legal_bases", entry.legal_basis))}
        )
        consent.append(gettext(WITHOUT_CONSENT))
    for used in entry.consents:
        consent.extend(_consent_lines(used, language))
    channel = CHANNELS.get(entry.channel)
    who = [entry.recipient]
    if entry.recipient_kind:
        who.append(label("organization_kinds", entry.recipient_kind))
    if entry.erased_at is not None:
        who.append(
            gettext(N_("Erased by the recipient on %(day)s"))
            % {"day": i18n.format_day(entry.erased_at, language)}
        )
    elif entry.erase_by is not None:
        who.append(
            gettext(N_("To be erased by %(day)s"))
            % {"day": i18n.format_day(entry.erase_by, language)}
        )
    purpose = label("purposes", entry.purpose) if entry.purpose else gettext(N_("Not recorded"))
    return (
        (i18n.format_when(entry.at, language), *([gettext(channel)] if channel else [])),
        tuple(who),
        tuple(label("data_categories", c) for c in entry.categories),
        (purpose, gettext(REQUESTS.get(entry.request, N_("Referral")))),
        tuple(consent) or (gettext(N_("No consent recorded")),),
    )


def words(content: Statement, language: str) -> StatementText:
    """The statement in the console's words, in `language`."""
    gettext = i18n.translations(language).gettext
    count = len(content.entries)
    return StatementText(
        language=language,
        title=gettext(N_("Statement of disclosures")),
        lead=(
            gettext(
                N_(
                    "This statement lists every time information about you was shared with "
                    "another organisation through the referral hub: who received it, when, "
                    "which kinds of information, for what purpose and under which consent."
                )
            ),
            gettext(
                N_(
                    "It names the kinds of information that were shared, not their content. "
                    "Information that was held back is not listed."
                )
            ),
        ),
        facts=(
            (gettext(N_("Case reference")), content.reference),
            (gettext(N_("Held by")), content.holder),
            (gettext(N_("Made on")), i18n.format_when(content.made_at, language)),
            (gettext(N_("Disclosures")), i18n.format_number(count, language)),
        ),
        headings=(
            gettext(N_("When")),
            gettext(N_("Who received it")),
            gettext(N_("What was shared")),
            gettext(N_("For what purpose")),
            gettext(N_("Under which consent or legal basis")),
        ),
        rows=tuple(_row(entry, language) for entry in content.entries),
        empty=gettext(N_("No information about you has been shared with another organisation.")),
        closing=(
            gettext(
                N_(
                    "To ask about this statement, to correct your information or to withdraw "
                    "your consent, speak to %(holder)s."
                )
            )
            % {"holder": content.holder},
            gettext(
                N_(
                    "Made by the referral hub from its accounting of disclosures, which records "
                    "each disclosure as it happens. Times are in UTC."
                )
            ),
        ),
        page_of=gettext(N_("Page {page} of {pages}")),
    )


def install() -> None:
    """The statement's words are the console's, for the API's PDF too (`hub.wiring` installs
    them as the hub starts)."""
    statement.writes_words(words)
