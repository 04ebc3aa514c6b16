"""Transfer requests API: the requester and the owner it named only; anyone else gets 404.

`POST /v1/transfer-requests` answers the same (201, the request's summary as its requester
sees it) whether or not the hub found the case: no enumeration (docs/transfers.md). POSTs take
an `Idempotency-Key` and answer with ids, codes and times only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status

from hub.access.deps import Principal, require_scope
from hub.api.deps import CurrentRuntime, DbSession
from hub.api.idempotency import Answer, IdempotencyKey, idempotent
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.transfers.requests import service
from hub.transfers.requests.models import TransferRequest
from hub.transfers.requests.schemas import (
    RefuseBody,
    TransferRequestCreate,
    TransferRequestPage,
    TransferRequestRead,
    TransferRequestSummary,
    WithdrawBody,
)

router = APIRouter(prefix="/v1/transfer-requests", tags=["transfer requests"])

Reader = Annotated[Principal, Depends(require_scope("transfers:read"))]
Writer = Annotated[Principal, Depends(require_scope("transfers:write"))]


def _to_read(request_id: str, principal: Reader, db: DbSession) -> TransferRequest:
    return service.get(db=db, request_id=request_id, organization_id=principal.organization_id)


def _to_move(request_id: str, principal: Writer, db: DbSession) -> TransferRequest:
    return service.get(
        db=db, request_id=request_id, organization_id=principal.organization_id, lock=True
    )


# the request in the path, if the caller's organisation made it or was asked (404 otherwise)
RequestToRead = Annotated[TransferRequest, Depends(_to_read)]
RequestToMove = Annotated[TransferRequest, Depends(_to_move)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TransferRequestSummary)
@idempotent
def create_request(
    body: TransferRequestCreate,
    principal: Writer,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
) -> Answer:
    """Ask the owner organisation for a case, named by the owner's reference (`case_ref`) or
    by a referral about it the caller received (`referral_id`). The answer is the same whether
    or not the case exists: the owner answers with a transfer or a refusal."""
    request = service.create(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        actor=principal.actor,
        organization_id=principal.organization_id,
        data=body,
    )
    return Answer(201, service.summary(db, request, principal.organization_id))


@router.get("", response_model=TransferRequestPage)
def list_requests(
    principal: Reader,
    db: DbSession,
    role: Literal["sent", "received"] | None = None,
    statuses: Annotated[list[str] | None, Query(alias="status", max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> TransferRequestPage:
    items, cursor_next = service.get_page(
        db=db,
        organization_id=principal.organization_id,
        role=role,
        statuses=statuses,
        cursor=cursor,
        limit=limit,
    )
    return TransferRequestPage(items=items, next=cursor_next)


@router.get("/{request_id}", response_model=TransferRequestRead)
def read_request(
    principal: Reader, request: RequestToRead, db: DbSession, runtime: CurrentRuntime
) -> TransferRequestRead:
    return service.read(
        db=db,
        keyring=runtime.keyring,
        request=request,
        organization_id=principal.organization_id,
    )


@router.post("/{request_id}/refuse", response_model=TransferRequestSummary)
@idempotent
def refuse(
    principal: Writer,
    request: RequestToMove,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
    body: RefuseBody | None = None,
) -> Answer:
    """The owner's move: from `requested` to `refused`, with a `refusal_code` (the policy's
    `transfer_request_refusals`) and words beside it if need be."""
    given = body or RefuseBody()
    service.refuse(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        request=request,
        actor=principal.actor,
        organization_id=principal.organization_id,
        refusal_code=given.refusal_code,
        text=given.reason,
    )
    return Answer(200, service.summary(db, request, principal.organization_id))


@router.post("/{request_id}/withdraw", response_model=TransferRequestSummary)
@idempotent
def withdraw(
    principal: Writer,
    request: RequestToMove,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
    body: WithdrawBody | None = None,
) -> Answer:
    """The requester's move: from `requested` to `withdrawn`."""
    service.withdraw(
        db=db,
        keyring=runtime.keyring,
        request=request,
        actor=principal.actor,
        organization_id=principal.organization_id,
        text=(body or WithdrawBody()).reason,
    )
    return Answer(200, service.summary(db, request, principal.organization_id))
