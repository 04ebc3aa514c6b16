"""The accounting of disclosures of a case: for its owner only (404 for anyone else)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hub.api.deps import DbSession
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.auth.deps import Principal, require_scope
from hub.cases import service as cases
from hub.disclosures import service
from hub.disclosures.schemas import DisclosurePage

router = APIRouter(tags=["disclosures"])

Reader = Annotated[Principal, Depends(require_scope("cases:read"))]


@router.get("/v1/cases/{case_id}/disclosures", response_model=DisclosurePage)
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
