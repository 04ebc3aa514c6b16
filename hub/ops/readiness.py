"""Readiness checks: can this process reach the database and the broker right now, and is the
audit chain being signed?

Each check answers yes or no and logs only the failing component and the error's type: a
connection error's text can quote the URL with its password.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from hub.audit.signing import AuditServices
from hub.audit.tasks import stale_after
from hub.clock import utcnow
from hub.ops import checkpoint
from hub.services import Services

log = logging.getLogger("hub.ops")

BROKER_TIMEOUT_SECONDS = 2.0


def database_ready(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("database not ready", extra={"check": "database", "error_type": _name(exc)})
        return False
    return True


def broker_ready(runtime: Services) -> bool:
    """Reach the broker the way the hub's producers do (same URL and transport options)."""
    try:
        with runtime.celery.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            if runtime.settings.is_embedded_broker:
                # no server to ask: the folder producers write messages into must take a file
                _probe_folder(Path(conn.transport_options["data_folder_out"]))
            else:
                # one attempt, no back-off sleep: a probe must answer within its own timeout
                conn.ensure_connection(
                    max_retries=1,
                    interval_start=0,
                    interval_step=0,
                    timeout=BROKER_TIMEOUT_SECONDS,
                )
    except Exception as exc:
        log.warning("broker not ready", extra={"check": "broker", "error_type": _name(exc)})
        return False
    return True


def audit_checkpoint(runtime: AuditServices) -> dict[str, Any] | None:
    """The latest checkpoint's detail (`hub.ops.checkpoint`); None when it cannot be read."""
    try:
        with runtime.sessions() as db:
            state = checkpoint.read(db=db)
    except Exception as exc:
        log.warning("audit checkpoint unknown", extra={"check": "audit", "error_type": _name(exc)})
        return None
    return state.detail(now=utcnow(), limit=stale_after(runtime.settings))


def _probe_folder(folder: Path) -> None:
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".readyz-"):
        pass


def _name(exc: BaseException) -> str:
    return type(exc).__name__
