"""`DELETE /v1/cases/{case_id}`: erasing a case, with what waits on it (`hub.erasure.service`).

Beside the other case routes in the API (same path, same tag), but here: erasing cancels the
case's requests under review, and `hub.cases` imports no request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from hub.api.deps import CurrentRuntime, DbSession
from hub.auth.deps import Principal, require_scope
from hub.cases import service as cases
from hub.erasure import service

router = APIRouter(prefix="/v1/cases", tags=["cases"])

Writer = Annotated[Principal, Depends(require_scope("cases:write"))]


@router.delete("/{case_id}", status_code=status.HTTP_204_NO_CONTENT)
def erase_case(case_id: str, principal: Writer, db: DbSession, runtime: CurrentRuntime) -> Response:
    case = cases.get(db=db, case_id=case_id, organization_id=principal.organization_id)
    service.erase(db=db, keyring=runtime.keyring, actor=principal.actor, case=case)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
