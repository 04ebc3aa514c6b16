"""The accounting of disclosures of a case, for its owner only (404 for anyone else), also as
the beneficiary's statement in PDF, and the audit log's latest signed checkpoint, by which any
partner can check that accounting was not rewritten (`hub.audit` keeps the log; its face is
here, above the identity it needs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from hub.access.deps import CurrentPrincipal, Principal, require_scope
from hub.api.deps import DbSession, get_runtime
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.api.problems import NotFound, Unprocessable
from hub.audit import published
from hub.audit.schemas import CheckpointRead
from hub.audit.signing import AuditServices
from hub.cases import service as cases
from hub.disclosures import erasure, service, statement, statement_pdf
from hub.disclosures.schemas import (
    DisclosurePage,
    ErasureConfirmationCreate,
    ErasureConfirmationRead,
)

# tags per route: the checkpoint is the audit log's
router = APIRouter()

Reader = Annotated[Principal, Depends(require_scope("cases:read"))]
# the recipient's statement about a referral it received, as its other moves on it
RecipientWriter = Annotated[Principal, Depends(require_scope("referrals:write"))]

FORMATS = ("json", "pdf")
PDF = "application/pdf"

DESCRIPTION = f"""The case's accounting of disclosures: each time its data left the hub, to
whom, which data categories, under which consents (newest first, paged).

With `format=pdf` the answer is instead the **beneficiary's statement**, a PDF document (the
whole accounting, oldest first, not paged) in plain words: organisation names, data category
and purpose labels, dates in the language `lang` asks for ({", ".join(statement.LANGUAGES)};
English if absent). It names the categories that were disclosed, never their content.
`format=json` (or no `format`) is the JSON accounting. An unknown `format` is a 422 problem
with code `unsupported_format`, an unknown `lang` one with code `unsupported_language`."""


def _check(format_: str | None, lang: str | None) -> tuple[str, str]:
    chosen = format_ or "json"
    if chosen not in FORMATS:
        raise Unprocessable(
            "unsupported_format", "Unknown format", f"format is one of {', '.join(FORMATS)}"
        )
    language = lang or "en"
    if language not in statement.LANGUAGES:
        raise Unprocessable(
            "unsupported_language",
            "Unknown language",
            f"lang is one of {', '.join(statement.LANGUAGES)}",
        )
    return chosen, language


@router.get(
    "/v1/cases/{case_id}/disclosures",
    tags=["disclosures"],
    response_model=DisclosurePage,
    description=DESCRIPTION,
    responses={
        200: {
            "description": "The accounting (JSON), or the statement (PDF) with `format=pdf`",
            "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def list_disclosures(
    case_id: str,
    principal: Reader,
    db: DbSession,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    format_: Annotated[
        str | None,
        Query(alias="format", max_length=16, description="`json` (the default) or `pdf`"),
    ] = None,
    lang: Annotated[
        str | None,
        Query(max_length=16, description="The statement's language with `format=pdf`"),
    ] = None,
) -> DisclosurePage | Response:
    chosen, language = _check(format_, lang)
    case = cases.get(db=db, case_id=case_id, organization_id=principal.organization_id)
    if chosen == "pdf":
        text = statement.in_words(statement.assemble(db=db, case=case), language)
        return Response(
            statement_pdf.render(text),
            media_type=PDF,
            headers={
                "Content-Disposition": statement_pdf.attachment(case.external_ref),
                "Cache-Control": "no-store",
            },
        )
    items, cursor_next = service.get_page(db=db, case=case, cursor=cursor, limit=limit)
    return DisclosurePage(items=items, next=cursor_next)


@router.post(
    "/v1/referrals/{referral_id}/erasure-confirmation",
    tags=["disclosures"],
    response_model=ErasureConfirmationRead,
    responses={404: {"description": "Nothing of the referral was disclosed to the caller"}},
)
def confirm_erasure(
    referral_id: str,
    principal: RecipientWriter,
    db: DbSession,
    body: ErasureConfirmationCreate | None = None,
) -> ErasureConfirmationRead:
    """The recipient confirms it has erased what it received under the referral (its data
    life, `erase_by`, in every delivery). Recorded with its time and actor, and shown in the
    case's accounting of disclosures; confirming again changes nothing."""
    return erasure.confirm(
        db=db,
        referral_id=referral_id,
        organization_id=principal.organization_id,
        actor=principal.actor,
    )


@router.get(
    "/v1/audit/checkpoint",
    tags=["audit"],
    response_model=CheckpointRead,
    responses={404: {"description": "No checkpoint has been signed yet"}},
)
def latest_checkpoint(
    principal: CurrentPrincipal,
    db: DbSession,
    runtime: Annotated[AuditServices, Depends(get_runtime)],
) -> CheckpointRead:
    """The latest signed checkpoint, for any authenticated partner."""
    cp = published.latest(db=db)
    if cp is None:
        raise NotFound("checkpoint")
    key = runtime.audit_key
    return CheckpointRead(
        **published.checkpoint_doc(cp),
        public_key_pem=key.public_pem if key.key_id == cp.key_id else None,
    )
