"""Readiness checks: can this process reach the database and the broker right now?

Each check answers yes or no and logs only the failing component and the error's type: a
connection error's text can quote the URL with its password.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from kombu import Connection
from sqlalchemy import Engine, text

from hub.settings import Settings

log = logging.getLogger("hub.ops")

BROKER_TIMEOUT_SECONDS = 2.0


def broker_folder(settings: Settings) -> Path:
    """Where kombu's filesystem transport keeps messages on the embedded default."""
    return settings.data_dir / "broker"


def database_ready(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("database not ready", extra={"check": "database", "error_type": _name(exc)})
        return False
    return True


def broker_ready(settings: Settings) -> bool:
    try:
        conn = Connection(settings.celery_broker_url, connect_timeout=BROKER_TIMEOUT_SECONDS)
        try:
            if conn.transport_cls == "filesystem":
                _probe_folder(broker_folder(settings))
            else:
                # one attempt, no back-off sleep: a probe must answer within its own timeout
                conn.ensure_connection(
                    max_retries=1,
                    interval_start=0,
                    interval_step=0,
                    timeout=BROKER_TIMEOUT_SECONDS,
                )
        finally:
            conn.release()
    except Exception as exc:
        log.warning("broker not ready", extra={"check": "broker", "error_type": _name(exc)})
        return False
    return True


def _probe_folder(folder: Path) -> None:
    # the worker creates it on first start; creating it here too is harmless and lets a fresh
    # embedded hub be ready before the first message
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".readyz-"):
        pass


def _name(exc: BaseException) -> str:
    return type(exc).__name__
