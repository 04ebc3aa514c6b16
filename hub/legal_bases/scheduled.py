"""The scheduler's reminders of the news owed to people (`hub.legal_bases.notices.remind`)."""

from __future__ import annotations

from celery import shared_task

from hub.legal_bases import notices
from hub.worker.celery_app import PERSON_NOTICES_TASK
from hub.worker.process import worker_runtime


@shared_task(name=PERSON_NOTICES_TASK, acks_late=True, ignore_result=True)
def run_reminders() -> int:
    """Remind the offices that owe a person news; returns how many were reminded."""
    return len(notices.remind(worker_runtime()).reminded)
