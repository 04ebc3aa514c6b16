"""Cases API: owner only; another organisation's case is 404. Erasing a case cancels its
requests under review, so its route (`DELETE /v1/cases/{case_id}`) is `hub.erasure.routes`'."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from hub.access.deps import Principal, require_scope
from hub.api.deps import CurrentRuntime, DbSession
from hub.api.idempotency import Answer, IdempotencyKey, idempotent
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.cases import service
from hub.cases.models import Case
from hub.cases.schemas import CaseCreate, CaseDataUpdate, CasePage, CaseRead, CaseSummary

router = APIRouter(prefix="/v1/cases", tags=["cases"])

Reader = Annotated[Principal, Depends(require_scope("cases:read"))]
Writer = Annotated[Principal, Depends(require_scope("cases:write"))]


def _to_read(case_id: str, principal: Reader, db: DbSession) -> Case:
    return service.get(db=db, case_id=case_id, organization_id=principal.organization_id)


def _to_write(case_id: str, principal: Writer, db: DbSession) -> Case:
    return service.get(db=db, case_id=case_id, organization_id=principal.organization_id)


# the case in the path, if the caller's organisation owns it (404 otherwise: the condition is
# in the query, `service.get`)
CaseToRead = Annotated[Case, Depends(_to_read)]
CaseToWrite = Annotated[Case, Depends(_to_write)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaseSummary)
@idempotent
def create_case(
    body: CaseCreate,
    principal: Writer,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
) -> Answer:
    case = service.create(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        actor=principal.actor,
        owner_organization_id=principal.organization_id,
        external_ref=body.external_ref,
        subject=body.subject,
        data=body.data,
    )
    return Answer(201, service.summary(db=db, case=case))


@router.get(
    "",
    response_model=CasePage,
    responses={
        400: {"description": "The cursor is not valid (`invalid_cursor`)"},
        422: {
            "description": "A filter's value is not valid (`validation_error`), or the "
            "registration dates are the wrong way round (`invalid_range`)"
        },
    },
)
def list_cases(
    principal: Reader,
    db: DbSession,
    reference: Annotated[
        str | None,
        Query(max_length=100, description="part of the case's reference, any letter case"),
    ] = None,
    status: Annotated[
        service.CaseStatus | None,
        Query(
            description="`open`, `closed` (the case's own life; its data held); "
            "`erased`: the case's data was erased"
        ),
    ] = None,
    registered_from: Annotated[
        date | None, Query(description="registered on or after this day (UTC)")
    ] = None,
    registered_to: Annotated[
        date | None, Query(description="registered on or before this day (UTC)")
    ] = None,
    has_open_referrals: Annotated[
        bool | None,
        Query(description="true: with a referral not yet closed; false: with none"),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> CasePage:
    """The organisation's cases, newest first, filtered (the console's case list asks the same)."""
    wanted = service.CaseFilter(
        reference=reference,
        status=status,
        registered_from=registered_from,
        registered_to=registered_to,
        has_open_referrals=has_open_referrals,
    )
    items, cursor_next = service.find(
        db=db,
        organization_id=principal.organization_id,
        wanted=wanted,
        cursor=cursor,
        limit=limit,
    )
    return CasePage(items=items, next=cursor_next)


@router.get("/{case_id}", response_model=CaseRead)
def read_case(
    principal: Reader, case: CaseToRead, db: DbSession, runtime: CurrentRuntime
) -> CaseRead:
    return service.read(db=db, keyring=runtime.keyring, case=case)


@router.patch("/{case_id}", response_model=CaseSummary)
def update_case(
    principal: Writer,
    case: CaseToWrite,
    body: CaseDataUpdate,
    db: DbSession,
    runtime: CurrentRuntime,
) -> CaseSummary:
    service.update_data(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        actor=principal.actor,
        case=case,
        data=body.data,
    )
    return service.summary(db=db, case=case)
