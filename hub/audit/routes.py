"""`GET /v1/audit/checkpoint`: the latest signed checkpoint, for any authenticated partner."""

from __future__ import annotations

from fastapi import APIRouter

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound
from hub.audit import published
from hub.audit.schemas import CheckpointRead
from hub.auth.deps import CurrentPrincipal

router = APIRouter(tags=["audit"])


@router.get(
    "/v1/audit/checkpoint",
    response_model=CheckpointRead,
    responses={404: {"description": "No checkpoint has been signed yet"}},
)
def latest_checkpoint(
    principal: CurrentPrincipal, db: DbSession, runtime: CurrentRuntime
) -> CheckpointRead:
    cp = published.latest(db=db)
    if cp is None:
        raise NotFound("checkpoint")
    key = runtime.audit_key
    return CheckpointRead(
        **published.checkpoint_doc(cp),
        public_key_pem=key.public_pem if key.key_id == cp.key_id else None,
    )
