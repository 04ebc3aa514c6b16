"""Scheduled tasks that belong to no domain: the audit checkpoint."""

from __future__ import annotations

from celery import shared_task

from hub.audit.tasks import make_checkpoint
from hub.worker.celery_app import AUDIT_CHECKPOINT_TASK
from hub.worker.process import worker_runtime


@shared_task(name=AUDIT_CHECKPOINT_TASK, acks_late=True, ignore_result=True)
def audit_checkpoint() -> None:
    make_checkpoint(worker_runtime())
