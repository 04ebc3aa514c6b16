"""Case transfers API: the sender and the recipient only; any other organisation gets 404.

POSTs take an `Idempotency-Key` and answer with ids, codes and category names only: never the
plan, never case data (no personal data is remembered for replays). A refusal by the consent
gate (422 `consent_denied`, or 409 `review_required` at acceptance) is answered without raising,
so its decision and audit entry are committed all the same: the attempt stays on record.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from hub.access.deps import Principal, require_scope
from hub.api.deps import CurrentRuntime, DbSession
from hub.api.idempotency import Answer, IdempotencyKey, idempotent
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.api.problems import Problem
from hub.consent.gate import Decision
from hub.lifecycle.routes import MoveRoutes, add_move_routes, said
from hub.lifecycle.schemas import EventList
from hub.services import Services
from hub.transfers import handover, reading, resubmission, sending, service
from hub.transfers.lifecycle import MOVES
from hub.transfers.models import Transfer
from hub.transfers.schemas import (
    AcceptanceProblem,
    GateProblem,
    ListScope,
    MoveBody,
    ReasonBody,
    Role,
    TransferAccepted,
    TransferCreate,
    TransferCreated,
    TransferPage,
    TransferRead,
    TransferResubmit,
    TransferSummary,
)

router = APIRouter(prefix="/v1/transfers", tags=["transfers"])

Reader = Annotated[Principal, Depends(require_scope("transfers:read"))]
Writer = Annotated[Principal, Depends(require_scope("transfers:write"))]


def _to_read(transfer_id: str, principal: Reader, db: DbSession) -> Transfer:
    return service.get(db=db, transfer_id=transfer_id, organization_id=principal.organization_id)


def _to_move(transfer_id: str, principal: Writer, db: DbSession) -> Transfer:
    return service.get(
        db=db, transfer_id=transfer_id, organization_id=principal.organization_id, lock=True
    )


# the transfer in the path, if the caller's organisation is a party to it (404 otherwise: the
# condition is in the query, `service.visible_to`); locked for a move
TransferToRead = Annotated[Transfer, Depends(_to_read)]
TransferToMove = Annotated[Transfer, Depends(_to_move)]


def _gate_problem(
    model: type[GateProblem],
    request: Request,
    status_code: int,
    code: str,
    title: str,
    decision: Decision,
    **extra: str,
) -> GateProblem:
    problem = Problem(
        status_code,
        code,
        title,
        "Nothing was handed over. The reasons say what is missing.",
        decision_id=decision.id,
        reasons=list(decision.reasons),
        **extra,
    )
    return model.model_validate(problem.document(request.url.path))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TransferCreated,
    responses={
        202: {"model": TransferCreated, "description": "Held for a consent officer's review"},
        422: {"model": GateProblem, "description": "Denied by the consent gate"},
    },
)
@idempotent
def create_transfer(
    body: TransferCreate,
    request: Request,
    principal: Writer,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
) -> Answer:
    transfer, decision = sending.create(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        actor=principal.actor,
        organization_id=principal.organization_id,
        data=body,
    )
    if transfer is None and decision is not None:
        denied = _gate_problem(
            GateProblem,
            request,
            422,
            "consent_denied",
            "The consent gate denied this transfer",
            decision,
        )
        return Answer(422, denied)
    if transfer is None:
        raise RuntimeError("a transfer is refused only by the consent gate")
    return Answer(
        202 if transfer.status == "pending_review" else 201,
        sending.created(db=db, transfer=transfer, decision=decision),
    )


@router.get("", response_model=TransferPage)
def list_transfers(
    principal: Reader,
    db: DbSession,
    role: Role | None = None,
    statuses: Annotated[list[str] | None, Query(alias="status", max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    scope: Annotated[
        ListScope,
        Query(
            description="`tree`: also the transfers of the offices below the caller's "
            "(status, dates, parties; never the case, its plan or its data)"
        ),
    ] = ListScope.own,
) -> TransferPage:
    items, cursor_next = service.get_page(
        db=db,
        organization_id=principal.organization_id,
        role=role,
        statuses=statuses,
        cursor=cursor,
        limit=limit,
        scope=scope,
    )
    return TransferPage(items=items, next=cursor_next)


@router.get("/{transfer_id}", response_model=TransferRead)
def read_transfer(
    principal: Reader, transfer: TransferToRead, db: DbSession, runtime: CurrentRuntime
) -> TransferRead:
    return reading.read(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        transfer=transfer,
        organization_id=principal.organization_id,
        actor=principal.actor,
    )


@router.get("/{transfer_id}/events", response_model=EventList)
def list_events(
    principal: Reader, transfer: TransferToRead, db: DbSession, runtime: CurrentRuntime
) -> EventList:
    items = reading.events(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        transfer=transfer,
        organization_id=principal.organization_id,
        actor=principal.actor,
    )
    return EventList(items=items)


@router.post(
    "/{transfer_id}/accept",
    response_model=TransferAccepted,
    responses={
        409: {"model": AcceptanceProblem, "description": "The gate now asks for a review"},
        422: {"model": AcceptanceProblem, "description": "Denied by the consent gate"},
    },
)
@idempotent
def accept(
    request: Request,
    principal: Writer,
    transfer: TransferToMove,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
    body: MoveBody | None = None,
) -> Answer:
    org = principal.organization_id
    outcome = handover.accept(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        transfer=transfer,
        actor=principal.actor,
        organization_id=org,
    )
    if isinstance(outcome, handover.Refused):
        refused = _gate_problem(
            AcceptanceProblem,
            request,
            outcome.status,
            outcome.code,
            outcome.title,
            outcome.decision,
            transfer_status=transfer.status,
        )
        return Answer(outcome.status, refused)
    answer = TransferAccepted(
        **service.summary_fields(transfer, service.party_of(transfer, org)),
        released_categories=outcome.released_categories,
    )
    return Answer(200, answer)


def _apply(
    db: Session,
    runtime: Services,
    transfer: Transfer,
    action: str,
    principal: Principal,
    body: BaseModel | None,
) -> None:
    service.party_move(
        db=db,
        keyring=runtime.keyring,
        transfer=transfer,
        action=action,
        actor=principal.actor,
        organization_id=principal.organization_id,
        text=said(body, MOVES[action]),
    )


# reject (the recipient's) and cancel (the sender's); accept and resubmit have their own
add_move_routes(
    router,
    MoveRoutes(
        table=MOVES,
        id_name="transfer_id",
        caller=Writer,
        loaded=TransferToMove,
        apply=_apply,
        answer=lambda transfer, org: service.summary(transfer, service.party_of(transfer, org)),
        response_model=TransferSummary,
        bodies={"": MoveBody, "reason": ReasonBody},
    ),
    own_routes={"accept", "resubmit"},
)


@router.post(
    "/{transfer_id}/resubmit",
    response_model=TransferCreated,
    responses={
        202: {"model": TransferCreated, "description": "Held again for a consent officer"},
        422: {
            "model": GateProblem,
            "description": "Denied by the consent gate: the transfer is now cancelled",
        },
    },
)
@idempotent
def resubmit(
    request: Request,
    principal: Writer,
    transfer: TransferToMove,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
    body: TransferResubmit | None = None,
) -> Answer:
    """The sender resubmits a transfer a consent officer sent back (`returned`): the gate is
    asked again as when it was proposed (200 `sent`, 202 `pending_review`, 422
    `consent_denied`)."""
    decision = resubmission.resubmit(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        transfer=transfer,
        actor=principal.actor,
        organization_id=principal.organization_id,
        data=body or TransferResubmit(),
    )
    if transfer.status == "cancelled":
        denied = _gate_problem(
            GateProblem,
            request,
            422,
            "consent_denied",
            "The consent gate denied this transfer: it is cancelled",
            decision,
        )
        return Answer(422, denied)
    return Answer(
        202 if transfer.status == "pending_review" else 200,
        sending.created(db=db, transfer=transfer, decision=decision),
    )
