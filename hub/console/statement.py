"""The beneficiary's statement at the console: the page (printable), its PDF, and the words.

The statement's content is `hub.disclosures.statement.assemble`'s and its layout as PDF is
`hub.disclosures.statement_pdf`'s; what this module adds is the words, in the console's
catalogue: `install` registers `words` as the statement's writer, so the API's PDF
(`GET /v1/cases/{id}/disclosures?format=pdf`) and this page say the same sentences. Who may see a
statement is the API route's rule: the case's owner (`hub.cases.service.get`, 404 for anyone
else), with `cases:read`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hub.api.deps import DbSession
from hub.api.pagination import DEFAULT_LIMIT
from hub.cases import service as cases
from hub.cases.models import Case
from hub.console import i18n
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_, labeller
from hub.console.pages import page
from hub.console.people import CurrentPerson
from hub.disclosures import statement, statement_pdf
from hub.disclosures.statement import ConsentUsed, Entry, Statement, StatementText

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "cases:read"

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
    for used in entry.consents:
        consent.extend(_consent_lines(used, language))
    channel = CHANNELS.get(entry.channel)
    who = [entry.recipient]
    if entry.recipient_kind:
        who.append(label("organization_kinds", entry.recipient_kind))
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
            gettext(N_("Under which consent")),
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


def _case(person: CurrentPerson, db: DbSession, case_id: str) -> Case:
    person.require(SCOPE)
    return cases.get(db=db, case_id=case_id, organization_id=person.principal.organization_id)


@router.get("/console/statements")
def statements(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    """The office's cases, newest first, each with its statement (by reference, no names)."""
    person.require(SCOPE)
    cursor = request.query_params.get("cursor")
    items, cursor_next = cases.get_page(
        db=db,
        organization_id=person.principal.organization_id,
        cursor=cursor[:200] if cursor else None,
        limit=DEFAULT_LIMIT,
    )
    return page(request, person, "statements.html", db=db, items=items, next=cursor_next)


@router.get("/console/cases/{case_id}/statement")
def statement_page(
    request: Request, person: CurrentPerson, db: DbSession, case_id: str
) -> Response:
    case = _case(person, db, case_id)
    text = statement.in_words(statement.assemble(db=db, case=case), person.language)
    return page(request, person, "statement.html", db=db, case_id=case.id, text=text)


@router.get("/console/cases/{case_id}/statement.pdf")
def statement_download(
    request: Request, person: CurrentPerson, db: DbSession, case_id: str
) -> Response:
    case = _case(person, db, case_id)
    language = i18n.supported(request.query_params.get("lang")) or person.language
    text = statement.in_words(statement.assemble(db=db, case=case), language)
    return Response(
        statement_pdf.render(text),
        media_type="application/pdf",
        headers={"Content-Disposition": statement_pdf.attachment(case.external_ref)},
    )
