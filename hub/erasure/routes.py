"""`DELETE /v1/cases/{case_id}`: erasing a case, with what waits on it (`hub.erasure.service`).

Beside the other case routes in the API (same path, same tag), but here: erasing cancels the
case's requests under review, and `hub.cases` imports no request.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from hub.api.deps import CurrentRuntime, DbSession
from hub.cases.routes import CaseToWrite, Writer
from hub.erasure import service

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.delete("/{case_id}", status_code=status.HTTP_204_NO_CONTENT)
def erase_case(
    principal: Writer, case: CaseToWrite, db: DbSession, runtime: CurrentRuntime
) -> Response:
    """Erase the case's personal data, for the erasure **the person asks for** (their right to
    erasure): its data key is shredded and its data can never be read again; its requests
    still under review are cancelled. This is not how a case ends: a case whose work is done
    is closed (`POST /v1/cases/{case_id}/close`, with its reason) and stays readable; a closed
    case can be reopened, an erased one cannot."""
    service.erase(db=db, keyring=runtime.keyring, actor=principal.actor, case=case)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
