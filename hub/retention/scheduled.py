"""The scheduler's retention pass (`HUB_RETENTION_RUN_SECONDS`): `hub retention run`, ticked."""

from __future__ import annotations

from celery import shared_task

from hub.retention import service
from hub.worker.celery_app import RETENTION_TASK
from hub.worker.process import worker_runtime


@shared_task(name=RETENTION_TASK, acks_late=True, ignore_result=True)
def run_retention() -> int:
    """Purge the closed cases past their retention; returns how many went."""
    return len(service.run(worker_runtime()).purged)
