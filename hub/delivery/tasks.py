"""Celery side of the connectors: the delivery handler (registered by importing `push`) and
the scheduled read-back of the Tasks pushed to partners' FHIR servers."""

from __future__ import annotations

from celery import shared_task

from hub.delivery import polling
from hub.delivery import push as _push  # noqa: F401  (registers the `referral.deliver` handler)
from hub.worker.celery_app import FHIR_POLL_TASK
from hub.worker.process import worker_runtime


@shared_task(name=FHIR_POLL_TASK, acks_late=True, ignore_result=True)
def poll_fhir_tasks() -> int:
    return polling.poll_due(worker_runtime())
