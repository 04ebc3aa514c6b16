"""Operations endpoints: liveness, readiness, metrics. No authentication, no personal data."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from hub.api.deps import CurrentRuntime
from hub.api.problems import Problem

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(runtime: CurrentRuntime) -> dict[str, str]:
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        raise Problem(503, "not_ready", "Database unreachable") from None
    return {"status": "ready", "database": "ok"}
