"""The accounting of disclosures of a case, for its owner only (404 for anyone else), and the
audit log's latest signed checkpoint, by which any partner can check that accounting was not
rewritten (`hub.audit` keeps the log; its face is here, above the identity it needs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hub.access.deps import CurrentPrincipal, Principal, require_scope
from hub.api.deps import DbSession, get_runtime
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.api.problems import NotFound
from hub.audit import published
from hub.audit.schemas import CheckpointRead
from hub.audit.signing import AuditServices
from hub.cases import service as cases
from hub.disclosures import service
from hub.disclosures.schemas import DisclosurePage

# tags per route: the checkpoint is the audit log's
router = APIRouter()

Reader = Annotated[Principal, Depends(require_scope("cases:read"))]


@router.get("/v1/cases/{case_id}/disclosures", tags=["disclosures"], response_model=DisclosurePage)
def list_disclosures(
    case_id: str,
    principal: Reader,
    db: DbSession,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> DisclosurePage:
    case = cases.get(db=db, case_id=case_id, organization_id=principal.organization_id)
    items, cursor_next = service.get_page(db=db, case=case, cursor=cursor, limit=limit)
    return DisclosurePage(items=items, next=cursor_next)


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
