"""Scheduled audit work, as plain functions: the Celery wiring calls them, tests call them too."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub.audit.chain import ChainBroken, checkpoint
from hub.audit.models import AuditCheckpoint
from hub.db.session import transaction

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.audit")


def make_checkpoint(runtime: Runtime) -> AuditCheckpoint | None:
    """Sign the chain's head in a transaction of its own; None when nothing is new.

    A broken chain is logged (sequence number and reason only) and re-raised, so the scheduler
    shows a failure instead of signing over tampering.
    """
    try:
        with transaction(runtime.sessions) as db:
            cp = checkpoint(db=db, key=runtime.audit_key)
    except ChainBroken as exc:
        log.error(
            "audit checkpoint refused: chain broken",
            extra={"seq": exc.brk.seq, "reason": str(exc.brk.reason)},
        )
        raise
    if cp is not None:
        log.info("audit checkpoint signed", extra={"seq": cp.seq, "key_id": cp.key_id})
    return cp
