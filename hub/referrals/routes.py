"""Referrals API: the sender and the recipient only; any other organisation gets 404.

POSTs take an `Idempotency-Key` and answer with ids and codes only (no personal data is
remembered for replays). A denial by the consent gate is answered 422 `consent_denied`, and
its decision and audit entry are committed all the same: the attempt stays on record.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from hub.access.deps import Principal, require_scope
from hub.api.deps import CurrentRuntime, DbSession, get_runtime
from hub.api.idempotency import Answer, IdempotencyKey, idempotent
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.api.problems import Problem, Unprocessable
from hub.consent.gate import Decision
from hub.lifecycle.routes import MoveRoutes, add_move_routes, coded, said
from hub.lifecycle.schemas import EventList
from hub.referrals import dry_run, figures, reading, resubmission, sending, service
from hub.referrals.lifecycle import MOVES
from hub.referrals.models import Referral
from hub.referrals.schemas import (
    ConsentDeniedProblem,
    DeclineReasonBody,
    ListScope,
    MoveBody,
    OutcomeBody,
    ReasonBody,
    ReferralCreate,
    ReferralCreated,
    ReferralDryRun,
    ReferralPage,
    ReferralRead,
    ReferralResubmit,
    ReferralSummary,
    Role,
    StartMoveBody,
)
from hub.services import Services

router = APIRouter(prefix="/v1/referrals", tags=["referrals"])

Reader = Annotated[Principal, Depends(require_scope("referrals:read"))]
Writer = Annotated[Principal, Depends(require_scope("referrals:write"))]


def _to_read(referral_id: str, principal: Reader, db: DbSession) -> Referral:
    return service.get(db=db, referral_id=referral_id, organization_id=principal.organization_id)


def _to_move(referral_id: str, principal: Writer, db: DbSession) -> Referral:
    return service.get(
        db=db, referral_id=referral_id, organization_id=principal.organization_id, lock=True
    )


# the referral in the path, if the caller's organisation is a party to it (404 otherwise: the
# condition is in the query, `service.visible_to`); locked for a move
ReferralToRead = Annotated[Referral, Depends(_to_read)]
ReferralToMove = Annotated[Referral, Depends(_to_move)]


def _denied(
    request: Request,
    decision: Decision,
    detail: str = "Nothing was sent. The reasons say what is missing.",
) -> ConsentDeniedProblem:
    problem = Problem(
        422,
        "consent_denied",
        "The consent gate denied this referral",
        detail,
        decision_id=decision.id,
        reasons=list(decision.reasons),
    )
    return ConsentDeniedProblem.model_validate(problem.document(request.url.path))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ReferralCreated,
    responses={
        200: {
            "model": ReferralDryRun,
            "description": 'With `"dry_run": true`: what the consent gate would do (nothing '
            "sent, nothing kept but the audit entry)",
        },
        202: {"model": ReferralCreated, "description": "Held for a consent officer's review"},
        422: {"model": ConsentDeniedProblem, "description": "Denied by the consent gate"},
    },
)
def create_referral(
    body: ReferralCreate,
    request: Request,
    principal: Writer,
    db: DbSession,
    idem: IdempotencyKey,
) -> Response:
    """Make a referral (201 `sent`, 202 `pending_review`, 422 `consent_denied`), or with
    `"dry_run": true` only ask the consent gate what it would do (200, `ReferralDryRun`)."""
    # read from the request, not as a dependency: on the hub's busiest route each one
    # FastAPI solves is CPU, and the session's dependency reads it the same way
    runtime = get_runtime(request)
    if body.dry_run:
        # outside `@idempotent`: a question changes nothing, so there is nothing to replay
        answer = dry_run.dry_run(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor=principal.actor,
            organization_id=principal.organization_id,
            data=body,
        )
        return JSONResponse(jsonable_encoder(answer), status_code=200)
    return _create(
        body=body, request=request, principal=principal, db=db, runtime=runtime, idem=idem
    )


@idempotent
def _create(
    body: ReferralCreate,
    request: Request,
    principal: Writer,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
) -> Answer:
    referral, decision = sending.create(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        actor=principal.actor,
        organization_id=principal.organization_id,
        data=body,
    )
    if referral is None:
        return Answer(422, _denied(request, decision))
    return Answer(201 if referral.sent_at is not None else 202, sending.created(referral, decision))


@router.get("", response_model=ReferralPage)
def list_referrals(
    principal: Reader,
    db: DbSession,
    role: Role | None = None,
    statuses: Annotated[list[str] | None, Query(alias="status", max_length=20)] = None,
    overdue: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    scope: Annotated[
        ListScope,
        Query(
            description="`tree`: also the referrals of the offices below the caller's "
            "(statuses, dates, parties, overdue; never the case or its data)"
        ),
    ] = ListScope.own,
) -> ReferralPage:
    items, cursor_next = service.get_page(
        db=db,
        organization_id=principal.organization_id,
        role=role,
        statuses=statuses,
        overdue=overdue,
        cursor=cursor,
        limit=limit,
        scope=scope,
    )
    return ReferralPage(items=items, next=cursor_next)


@router.get("/inbox", response_model=ReferralPage)
def inbox(
    principal: Reader,
    db: DbSession,
    statuses: Annotated[list[str] | None, Query(alias="status", max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
) -> ReferralPage:
    """The referrals received by the caller's organisation that are still open, what needs
    action first: overdue, then by urgency, then the longest waiting (`limit` of them, no
    cursor: the order is by need, not by time)."""
    if any(s not in service.RECEIVED_OPEN for s in statuses or ()):
        raise Unprocessable(
            "unknown_value",
            "Not an open referral status",
            field="status",
            allowed=list(service.RECEIVED_OPEN),
        )
    items = service.inbox(
        db=db,
        organization_id=principal.organization_id,
        statuses=tuple(statuses) if statuses else service.RECEIVED_OPEN,
        limit=limit,
    )
    return ReferralPage(items=items, next=None)


@router.get("/figures", response_model=figures.ReferralFigures)
def referral_figures(principal: Reader, db: DbSession) -> figures.ReferralFigures:
    """The caller's organisation's sent referrals counted by status and by recipient, and each
    recipient's median time to acknowledge those sent in the last 8 weeks (no personal data;
    the console's tracking board shows the same figures)."""
    return figures.figures(db=db, organization_id=principal.organization_id)


@router.get("/{referral_id}", response_model=ReferralRead)
def read_referral(
    principal: Reader,
    referral: ReferralToRead,
    db: DbSession,
    runtime: CurrentRuntime,
    payload: Annotated[bool, Query(description="the recipient: false to read without data")] = True,
) -> ReferralRead:
    # may write (a disclosure, a cancellation): the request's transaction commits it
    return reading.read(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        referral=referral,
        organization_id=principal.organization_id,
        actor=principal.actor,
        with_payload=payload,
    )


@router.get("/{referral_id}/events", response_model=EventList)
def list_events(
    principal: Reader, referral: ReferralToRead, db: DbSession, runtime: CurrentRuntime
) -> EventList:
    items = reading.events(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        referral=referral,
        organization_id=principal.organization_id,
        actor=principal.actor,
    )
    return EventList(items=items)


def _apply(
    db: Session,
    runtime: Services,
    referral: Referral,
    action: str,
    principal: Principal,
    body: BaseModel | None,
) -> None:
    service.party_move(
        db=db,
        keyring=runtime.keyring,
        referral=referral,
        action=action,
        actor=principal.actor,
        organization_id=principal.organization_id,
        text=said(body, MOVES[action]),
        code=coded(body, MOVES[action]),
        policy=runtime.policy,
        follow_up_by=getattr(body, "follow_up_by", None),
    )


# acknowledge, accept, decline, start, complete (the recipient's) and cancel (the sender's)
add_move_routes(
    router,
    MoveRoutes(
        table=MOVES,
        id_name="referral_id",
        caller=Writer,
        loaded=ReferralToMove,
        apply=_apply,
        answer=lambda referral, org: service.summary(referral, service.party_of(referral, org)),
        response_model=ReferralSummary,
        bodies={"": MoveBody, "reason": ReasonBody, "outcome": OutcomeBody},
        action_bodies={"decline": DeclineReasonBody, "start": StartMoveBody},
    ),
    own_routes={"resubmit"},
)


@router.post(
    "/{referral_id}/resubmit",
    response_model=ReferralCreated,
    responses={
        202: {"model": ReferralCreated, "description": "Held again for a consent officer"},
        422: {
            "model": ConsentDeniedProblem,
            "description": "Denied by the consent gate: the referral is now denied",
        },
    },
)
@idempotent
def resubmit(
    request: Request,
    principal: Writer,
    referral: ReferralToMove,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
    body: ReferralResubmit | None = None,
) -> Answer:
    """The sender resubmits a referral a consent officer sent back (`returned`): the gate is
    asked again as when it was made (200 `sent`, 202 `pending_review`, 422 `consent_denied`)."""
    decision = resubmission.resubmit(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        referral=referral,
        actor=principal.actor,
        organization_id=principal.organization_id,
        data=body or ReferralResubmit(),
    )
    if referral.status == "denied":
        denied = _denied(
            request, decision, "Nothing was sent: the referral is denied. The reasons say why."
        )
        return Answer(422, denied)
    return Answer(200 if referral.sent_at is not None else 202, sending.created(referral, decision))
