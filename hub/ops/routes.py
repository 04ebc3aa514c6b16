"""Operations endpoints: liveness, readiness, metrics. No authentication, no personal data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from hub.api.deps import get_runtime
from hub.api.problems import Problem
from hub.audit.signing import AuditServices
from hub.ops import readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers. It checks nothing else, so a database outage does not
    make an orchestrator restart every replica."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(runtime: Annotated[AuditServices, Depends(get_runtime)]) -> dict[str, Any]:
    """Readiness: the database and the broker are reachable. The audit checkpoint is reported
    as a detail (`hub.ops.checkpoint`), `stale` included, but never fails readiness: a stale
    checkpoint needs an operator, and taking every replica out of service would only add an
    outage to it (alert on `hub_audit_checkpoint_stale` instead)."""
    checks = {
        "database": readiness.database_ready(runtime.engine),
        "broker": readiness.broker_ready(runtime),
    }
    failed = sorted(name for name, ok in checks.items() if not ok)
    audit = readiness.audit_checkpoint(runtime) if checks["database"] else None
    if failed:
        # names of the failing parts only: never a URL, which could carry a password
        raise Problem(
            503,
            "not_ready",
            "Not ready",
            detail="Unreachable: " + ", ".join(failed) + ".",
            failed=failed,
            audit_checkpoint=audit,
        )
    return {"status": "ready", **dict.fromkeys(checks, "ok"), "audit_checkpoint": audit}


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
