"""`POST /v1/cases/{case_id}/close`, `/reopen` (made from the case's lifecycle table) and
`GET /v1/cases/{case_id}/events`: the owner's only, another organisation's case is 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.orm import Session, object_session

from hub.access.deps import Principal
from hub.api.deps import CurrentRuntime, DbSession
from hub.cases import service as cases
from hub.cases.models import Case
from hub.cases.routes import CaseToRead, Reader, Writer
from hub.cases.schemas import CaseSummary
from hub.closure import service
from hub.closure.lifecycle import MOVES
from hub.closure.schemas import CaseClose, CaseReopen
from hub.lifecycle.routes import MoveRoutes, add_move_routes
from hub.lifecycle.schemas import EventList
from hub.services import Services

router = APIRouter(prefix="/v1/cases", tags=["cases"])


def _to_move(case_id: str, principal: Writer, db: DbSession) -> Case:
    case = cases.get(db=db, case_id=case_id, organization_id=principal.organization_id)
    # two moves of one case at once (or a new referral while it closes): one waits
    db.refresh(case, with_for_update=True)
    return case


CaseToMove = Annotated[Case, Depends(_to_move)]


def _apply(
    db: Session,
    runtime: Services,
    case: Case,
    action: str,
    principal: Principal,
    body: BaseModel | None,
) -> None:
    if action == "close":
        said = body if isinstance(body, CaseClose) else CaseClose()
        service.close(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            case=case,
            actor=principal.actor,
            reason=said.reason,
            note=said.note,
            requests=said.requests,
        )
        return
    again = body if isinstance(body, CaseReopen) else CaseReopen()
    service.reopen(
        db=db, keyring=runtime.keyring, case=case, actor=principal.actor, note=again.note
    )


def _answer(case: Case, organization_id: str) -> CaseSummary:
    db = object_session(case)
    assert db is not None
    return cases.summary(db=db, case=case)


# close and reopen (the owner's); closing a case with open requests is 409
# `case_has_open_requests` until the body says, for each, `cancel` or `keep`
add_move_routes(
    router,
    MoveRoutes(
        table=MOVES,
        id_name="case_id",
        caller=Writer,
        loaded=CaseToMove,
        apply=_apply,
        answer=_answer,
        response_model=CaseSummary,
        bodies={"": CaseReopen},
        action_bodies={"close": CaseClose, "reopen": CaseReopen},
    ),
    own_routes=(),
)


@router.get("/{case_id}/events", response_model=EventList)
def list_events(
    principal: Reader, case: CaseToRead, db: DbSession, runtime: CurrentRuntime
) -> EventList:
    """The case's own history: each close and reopen with who, when, the reason code and the
    note (sealed at rest; gone once the case is erased)."""
    return EventList(items=service.events(db=db, keyring=runtime.keyring, case=case))
