"""Celery tasks of the outbox: run one message, and dispatch the due ones (on the schedule).

Tasks receive outbox ids only and open their own transactions; running one id twice, at the
same time or after it is done, runs its handler once.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded

from hub.db.transient import is_transient
from hub.outbox import service
from hub.worker.celery_app import DISPATCH_OUTBOX_TASK, RUN_OUTBOX_TASK
from hub.worker.process import worker_runtime

log = logging.getLogger("hub.outbox")

DISPATCH_BATCH = 200
DISPATCH_MAX_BATCHES = 10


@shared_task(
    bind=True,
    name=RUN_OUTBOX_TASK,
    acks_late=True,
    # the outbox row counts attempts (a re-dispatched message starts Celery's count again)
    max_retries=None,
    ignore_result=True,
)
def run_outbox(self: Task, outbox_id: str) -> None:
    runtime = worker_runtime()
    settings = runtime.settings
    claimed = service.claim(runtime, outbox_id)
    if claimed is None:
        log.info("outbox message not claimable, skipped", extra={"outbox_id": outbox_id})
        return
    ids = {"outbox_id": claimed.id, "topic": claimed.topic, "attempt": claimed.attempts}
    try:
        try:
            service.execute(runtime, claimed)
        except Exception as exc:
            if is_transient(exc):
                # a deadlock's victim or a busy database: the handler's transaction was
                # rolled back whole, and the next attempt starts afresh
                raise service.RetryableError(f"database: {type(exc).__name__}") from exc
            raise
    except service.ClaimLost:
        log.warning("outbox message taken over by another worker", extra=ids)
        return
    except (service.RetryableError, SoftTimeLimitExceeded) as exc:
        error = service.error_summary(exc)
        if claimed.attempts >= settings.outbox_max_attempts:
            service.mark_dead(runtime, claimed, error=error)
            log.error(
                "outbox message dead after its last attempt",
                extra={**ids, "error_type": type(exc).__name__},
            )
            return
        delay = service.retry_delay(
            settings, claimed.attempts, at_least=getattr(exc, "retry_after", None)
        )
        # a message held back longer than the visibility timeout is redelivered by Redis
        # while it waits: long delays are kept by the outbox instead
        via_broker = delay < settings.broker_visibility_timeout / 2
        if not service.release_for_retry(
            runtime, claimed, error=error, delay=delay, via_broker=via_broker
        ):
            return
        log.warning(
            "outbox message failed, retrying in %.1f s",
            delay,
            extra={**ids, "error_type": type(exc).__name__},
        )
        if via_broker:
            # no exc= here: Celery would log the exception's text
            raise self.retry(countdown=delay) from None
        return
    except Exception as exc:
        service.mark_dead(runtime, claimed, error=service.error_summary(exc))
        # the hub's JSON log formatter keeps the type and the frames, never the message
        log.error("outbox message dead: handler failed", extra=ids, exc_info=exc)
        return
    log.info("outbox message done", extra=ids)


@shared_task(name=DISPATCH_OUTBOX_TASK, acks_late=True, ignore_result=True)
def dispatch_outbox() -> int:
    runtime = worker_runtime()
    total = 0
    for _ in range(DISPATCH_MAX_BATCHES):
        sent = service.dispatch_due(runtime, limit=DISPATCH_BATCH)
        total += len(sent)
        if len(sent) < DISPATCH_BATCH:
            break
    if total:
        log.info("outbox messages dispatched", extra={"count": total})
    return total
