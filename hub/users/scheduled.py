"""The people's scheduled work: ended console sessions purged.

Sign-ins purge a few as they go (`hub.users.sessions.PURGE_ON_SIGNIN`); this pass removes the
rest, batch by batch, each batch its own transaction so no lock is held long.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from celery import shared_task

from hub.db.session import transaction
from hub.users import sessions
from hub.worker.celery_app import SESSION_PURGE_TASK
from hub.worker.process import worker_runtime

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger(__name__)

BATCH = 500


@shared_task(name=SESSION_PURGE_TASK, acks_late=True, ignore_result=True)
def purge_sessions() -> None:
    purge(worker_runtime())


def purge(runtime: Services, *, batch: int = BATCH) -> int:
    """Delete every ended console session; returns how many went."""
    total = 0
    while True:
        with transaction(runtime.sessions) as db:
            purged = sessions.purge_ended(db=db, settings=runtime.settings, limit=batch)
        total += purged
        if purged < batch:
            break
    if total:
        log.info("console sessions purged", extra={"count": total})
    return total
