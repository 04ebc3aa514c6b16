"""Consent API: owner only; another organisation's case or consent is 404.

The POSTs take an `Idempotency-Key`. Their answers carry personal data (the caregiver, the
withdrawal reason), so only the consent's id is remembered, and a replay reads it afresh.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel

from hub.access.deps import Principal, require_scope
from hub.api.deps import CurrentRuntime, DbSession
from hub.api.idempotency import Answer, IdempotencyKey, idempotent
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.cases import service as cases
from hub.cases.models import Case
from hub.consent import evidence, service, withdrawal
from hub.consent.models import Consent
from hub.consent.schemas import (
    ConsentCreate,
    ConsentPage,
    ConsentRead,
    EvidenceRead,
    WithdrawalCreate,
    WithdrawalPreviewRead,
)

router = APIRouter(tags=["consents"])

Reader = Annotated[Principal, Depends(require_scope("consents:read"))]
Writer = Annotated[Principal, Depends(require_scope("consents:write"))]

# the evidence upload streams and limits its own body (up to EVIDENCE_MAX_BYTES), so the
# app-wide body limit leaves this path alone
EVIDENCE_PATH = r"^/v1/consents/[^/]+/evidence$"


async def evidence_body(request: Request) -> tuple[str, bytes]:
    """The uploaded file and its media type, refused before reading where that is possible."""
    declared = evidence.media_type(request.headers.get("content-type"))
    length = request.headers.get("content-length", "")
    if length.isdigit():
        evidence.check_size(int(length))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        evidence.check_size(size)
        chunks.append(chunk)
    return declared, b"".join(chunks)


def _case_to_read(case_id: str, principal: Reader, db: DbSession) -> Case:
    return cases.get(db=db, case_id=case_id, organization_id=principal.organization_id)


def _case_to_write(case_id: str, principal: Writer, db: DbSession) -> Case:
    return cases.get(db=db, case_id=case_id, organization_id=principal.organization_id)


def _to_read(consent_id: str, principal: Reader, db: DbSession) -> Consent:
    return service.get(db=db, consent_id=consent_id, organization_id=principal.organization_id)


def _to_write(consent_id: str, principal: Writer, db: DbSession) -> Consent:
    return service.get(db=db, consent_id=consent_id, organization_id=principal.organization_id)


# the case or the consent in the path, if the caller's organisation owns it (404 otherwise: the
# condition is in the query)
CaseToRead = Annotated[Case, Depends(_case_to_read)]
CaseToWrite = Annotated[Case, Depends(_case_to_write)]
ConsentToRead = Annotated[Consent, Depends(_to_read)]
ConsentToWrite = Annotated[Consent, Depends(_to_write)]


class _Remembered(BaseModel):
    """What an idempotent POST remembers: the id only, never the consent's personal data."""

    id: str


def _answer(db: DbSession, runtime: CurrentRuntime, consent: Consent, status_code: int) -> Answer:
    read = service.read(db=db, keyring=runtime.keyring, consents=[consent])[0]
    return Answer(status_code, read, remembered=_Remembered(id=consent.id))


def _reread(route: dict[str, Any], remembered: dict[str, Any]) -> ConsentRead:
    """A replay reads the consent afresh (only its id was remembered)."""
    db, keyring = route["db"], route["runtime"].keyring
    consent_id = _Remembered.model_validate(remembered).id
    consent = service.get(
        db=db, consent_id=consent_id, organization_id=route["principal"].organization_id
    )
    return service.read(db=db, keyring=keyring, consents=[consent])[0]


@router.post(
    "/v1/cases/{case_id}/consents",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentRead,
)
@idempotent(reread=_reread)
def record_consent(
    body: ConsentCreate,
    principal: Writer,
    case: CaseToWrite,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
) -> Answer:
    consent = service.record(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        actor=principal.actor,
        case=case,
        data=body,
    )
    return _answer(db, runtime, consent, status.HTTP_201_CREATED)


@router.get("/v1/cases/{case_id}/consents", response_model=ConsentPage)
def list_consents(
    principal: Reader,
    case: CaseToRead,
    db: DbSession,
    runtime: CurrentRuntime,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ConsentPage:
    rows, cursor_next = service.list_for_case(
        db=db,
        organization_id=principal.organization_id,
        case_id=case.id,
        cursor=cursor,
        limit=limit,
    )
    items = service.read(db=db, keyring=runtime.keyring, consents=rows)
    return ConsentPage(items=items, next=cursor_next)


@router.get("/v1/consents/{consent_id}", response_model=ConsentRead)
def read_consent(
    principal: Reader, consent: ConsentToRead, db: DbSession, runtime: CurrentRuntime
) -> ConsentRead:
    return service.read(db=db, keyring=runtime.keyring, consents=[consent])[0]


@router.post("/v1/consents/{consent_id}/withdraw", response_model=ConsentRead)
@idempotent(reread=_reread)
def withdraw_consent(
    body: WithdrawalCreate,
    principal: Writer,
    consent: ConsentToWrite,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
) -> Answer:
    service.withdraw(
        db=db, keyring=runtime.keyring, actor=principal.actor, consent=consent, data=body
    )
    return _answer(db, runtime, consent, status.HTTP_200_OK)


@router.get("/v1/consents/{consent_id}/withdrawal-preview", response_model=WithdrawalPreviewRead)
def preview_withdrawal(
    principal: Reader, consent: ConsentToRead, db: DbSession
) -> WithdrawalPreviewRead:
    """What withdrawing the consent would do now: the referrals and transfers it cancels, the
    recipients told; by the rules the withdrawal itself follows. Nothing is changed."""
    return withdrawal.read(withdrawal.preview(db=db, consent=consent))


_EVIDENCE_BODY = {
    "required": True,
    "content": {
        media: {"schema": {"type": "string", "format": "binary"}}
        for media in sorted(evidence.EVIDENCE_TYPES)
    },
}


@router.put(
    "/v1/consents/{consent_id}/evidence",
    response_model=EvidenceRead,
    responses={201: {"model": EvidenceRead, "description": "Stored"}},
    openapi_extra={"requestBody": _EVIDENCE_BODY},
)
def put_evidence(
    principal: Writer,
    consent: ConsentToWrite,
    upload: Annotated[tuple[str, bytes], Depends(evidence_body)],
    response: Response,
    db: DbSession,
    runtime: CurrentRuntime,
) -> EvidenceRead:
    content_type, content = upload
    row, created = evidence.put_evidence(
        db=db,
        keyring=runtime.keyring,
        actor=principal.actor,
        consent=consent,
        content_type=content_type,
        content=content,
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return EvidenceRead(content_type=row.content_type, size=row.size, sha256=row.sha256)


@router.get(
    "/v1/consents/{consent_id}/evidence",
    response_class=Response,
    responses={
        200: {
            "description": "The evidence file",
            "content": {media: {} for media in sorted(evidence.EVIDENCE_TYPES)},
        }
    },
)
def get_evidence(
    principal: Reader, consent: ConsentToRead, db: DbSession, runtime: CurrentRuntime
) -> Response:
    row, content = evidence.get_evidence(
        db=db, keyring=runtime.keyring, actor=principal.actor, consent=consent
    )
    # the stored digest is keyed (evidence.evidence_digest); RFC 9530 wants the plain one
    digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
    return Response(
        content,
        media_type=row.content_type,
        headers={
            "ETag": f'"{row.sha256}"',
            "Repr-Digest": f"sha-256=:{digest}:",  # RFC 9530
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": "attachment",
        },
    )
