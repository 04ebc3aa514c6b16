"""The beneficiary's statement at the console: the page (printable), its PDF, and the words.

The statement's content is `hub.disclosures.statement.assemble`'s and its layout as PDF is
`hub.disclosures.statement_pdf`'s; its words are the console's catalogue's
(`hub.console.statement_words`), the same for the API's PDF
(`GET /v1/cases/{id}/disclosures?format=pdf`) and this page. Who may see a
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
from hub.console.pages import page
from hub.console.people import CurrentPerson
from hub.disclosures import statement, statement_pdf

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "cases:read"


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
