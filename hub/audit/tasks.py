"""Scheduled audit work, as plain functions: the Celery wiring calls them, tests call them too."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from hub.audit.chain import Break, ChainBroken, Reason
from hub.audit.checkpoints import Witness, checkpoint
from hub.audit.models import AuditCheckpoint
from hub.db.session import transaction

if TYPE_CHECKING:
    from hub.audit.signing import AuditServices
    from hub.settings import Settings

log = logging.getLogger("hub.audit")

# entries left without a signed checkpoint for this many checkpoint intervals mean checkpoints
# are missing (deleted, or the scheduler has been down that long)
STALE_INTERVALS = 3


def stale_after(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.audit_checkpoint_seconds * STALE_INTERVALS)


def witness(settings: Settings) -> Witness:
    return Witness.in_folder(settings.data_dir)


def make_checkpoint(runtime: AuditServices, *, allow_stale: bool = False) -> AuditCheckpoint | None:
    """Sign the chain's head in a transaction of its own; None when nothing is new.

    The chain is checked from the last checkpoint this signer made (its record is kept beside
    the key, outside the database). A broken chain is logged (sequence number and reason only)
    and re-raised, so the scheduler shows a failure instead of signing over tampering.
    """
    record = witness(runtime.settings)
    try:
        try:
            remembered = record.read()
        except ValueError as exc:
            raise ChainBroken(Break(0, Reason.CHECKPOINT_FORGOTTEN, str(exc))) from None
        with transaction(runtime.sessions) as db:
            cp = checkpoint(
                db=db,
                key=runtime.audit_key,
                remembered=remembered,
                stale_after=None if allow_stale else stale_after(runtime.settings),
            )
    except ChainBroken as exc:
        log.error(
            "audit checkpoint refused: chain broken",
            extra={"seq": exc.brk.seq, "reason": str(exc.brk.reason)},
        )
        raise
    if cp is not None:
        # after the commit: the record never names a checkpoint the database did not keep
        record.write(cp)
        log.info("audit checkpoint signed", extra={"seq": cp.seq, "key_id": cp.key_id})
    return cp
