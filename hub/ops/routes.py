"""Operations endpoints: liveness, readiness, metrics. No authentication, no personal data."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from hub.api.deps import CurrentRuntime
from hub.api.problems import Problem
from hub.ops import readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers. It checks nothing else, so a database outage does not
    make an orchestrator restart every replica."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(runtime: CurrentRuntime) -> dict[str, str]:
    """Readiness: the database and the broker are reachable."""
    checks = {
        "database": readiness.database_ready(runtime.engine),
        "broker": readiness.broker_ready(runtime),
    }
    failed = sorted(name for name, ok in checks.items() if not ok)
    if failed:
        # names of the failing parts only: never a URL, which could carry a password
        raise Problem(
            503,
            "not_ready",
            "Not ready",
            detail="Unreachable: " + ", ".join(failed) + ".",
            failed=failed,
        )
    return {"status": "ready", **dict.fromkeys(checks, "ok")}


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
