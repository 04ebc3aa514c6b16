"""Consent API: owner only; another organisation's case or consent is 404.

The POSTs take an `Idempotency-Key`. Their answers carry personal data (the caregiver, the
withdrawal reason), so only the consent's id is remembered, and a replay reads it afresh.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.idempotency import Idempotency, IdempotencyKey
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.auth.deps import Principal, require_scope
from hub.cases import service as cases
from hub.consent import evidence, service
from hub.consent.schemas import (
    ConsentCreate,
    ConsentPage,
    ConsentRead,
    EvidenceRead,
    WithdrawalCreate,
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


class _Remembered(BaseModel):
    """What an idempotent POST remembers: the id only, never the consent's personal data."""

    id: str


def _one(db: DbSession, runtime: CurrentRuntime, consent_id: str, org: str) -> ConsentRead:
    consent = service.get(db=db, consent_id=consent_id, organization_id=org)
    return service.read(db=db, keyring=runtime.keyring, consents=[consent])[0]


def _answer(
    db: DbSession,
    runtime: CurrentRuntime,
    principal: Principal,
    idem: Idempotency,
    consent_id: str,
    status_code: int,
) -> JSONResponse:
    idem.remember(
        db=db,
        client_id=principal.client_id,
        status_code=status_code,
        body=_Remembered(id=consent_id),
    )
    read = _one(db, runtime, consent_id, principal.organization_id)
    return JSONResponse(jsonable_encoder(read), status_code=status_code)


def _replay(
    db: DbSession, runtime: CurrentRuntime, principal: Principal, idem: Idempotency
) -> JSONResponse | None:
    replay = idem.replay(db=db, client_id=principal.client_id)
    if replay is None:
        return None
    consent_id = _Remembered.model_validate(json.loads(replay.body)).id
    read = _one(db, runtime, consent_id, principal.organization_id)
    return JSONResponse(
        jsonable_encoder(read),
        status_code=replay.status_code,
        headers={"Idempotent-Replayed": "true"},
    )


@router.post(
    "/v1/cases/{case_id}/consents",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentRead,
)
def record_consent(
    case_id: str,
    body: ConsentCreate,
    principal: Writer,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
) -> Response:
    if (replay := _replay(db, runtime, principal, idem)) is not None:
        return replay
    case = cases.get(db=db, case_id=case_id, organization_id=principal.organization_id)
    consent = service.record(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        actor=principal.actor,
        case=case,
        data=body,
    )
    return _answer(db, runtime, principal, idem, consent.id, status.HTTP_201_CREATED)


@router.get("/v1/cases/{case_id}/consents", response_model=ConsentPage)
def list_consents(
    case_id: str,
    principal: Reader,
    db: DbSession,
    runtime: CurrentRuntime,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ConsentPage:
    case = cases.get(db=db, case_id=case_id, organization_id=principal.organization_id)
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
    consent_id: str, principal: Reader, db: DbSession, runtime: CurrentRuntime
) -> ConsentRead:
    return _one(db, runtime, consent_id, principal.organization_id)


@router.post("/v1/consents/{consent_id}/withdraw", response_model=ConsentRead)
def withdraw_consent(
    consent_id: str,
    body: WithdrawalCreate,
    principal: Writer,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
) -> Response:
    if (replay := _replay(db, runtime, principal, idem)) is not None:
        return replay
    consent = service.get(db=db, consent_id=consent_id, organization_id=principal.organization_id)
    service.withdraw(
        db=db, keyring=runtime.keyring, actor=principal.actor, consent=consent, data=body
    )
    return _answer(db, runtime, principal, idem, consent.id, status.HTTP_200_OK)


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
    consent_id: str,
    principal: Writer,
    upload: Annotated[tuple[str, bytes], Depends(evidence_body)],
    response: Response,
    db: DbSession,
    runtime: CurrentRuntime,
) -> EvidenceRead:
    consent = service.get(db=db, consent_id=consent_id, organization_id=principal.organization_id)
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
    consent_id: str, principal: Reader, db: DbSession, runtime: CurrentRuntime
) -> Response:
    consent = service.get(db=db, consent_id=consent_id, organization_id=principal.organization_id)
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
