"""The Celery application, configured from the hub's settings.

The broker only carries outbox ids (and the scheduler's ticks): the outbox table is the source
of truth, so every setting here leans towards "deliver again" rather than "lose": late acks,
redelivery when a worker dies, one message prefetched at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from hub.settings import Settings
from hub.worker import filesystem

RUN_OUTBOX_TASK = "hub.outbox.run"
DISPATCH_OUTBOX_TASK = "hub.outbox.dispatch"
AUDIT_CHECKPOINT_TASK = "hub.audit.checkpoint"
DEADLINES_TASK = "hub.referrals.deadlines"
REVIEW_DEADLINES_TASK = "hub.reviews.deadlines"
TRANSFER_DEADLINES_TASK = "hub.transfers.deadlines"
FHIR_POLL_TASK = "hub.connectors.fhir_poll"
SESSION_PURGE_TASK = "hub.users.purge_sessions"
RETENTION_TASK = "hub.retention.run"
PERSON_NOTICES_TASK = "hub.legal_bases.person_notices"
# ended console sessions are purged this often (sign-ins also purge a few as they go)
SESSION_PURGE_SECONDS = 3600.0
SCHEDULED_TASKS = (
    DISPATCH_OUTBOX_TASK,
    AUDIT_CHECKPOINT_TASK,
    DEADLINES_TASK,
    REVIEW_DEADLINES_TASK,
    TRANSFER_DEADLINES_TASK,
    FHIR_POLL_TASK,
    SESSION_PURGE_TASK,
    RETENTION_TASK,
    PERSON_NOTICES_TASK,
)
DEFAULT_QUEUE = "hub"
# the scheduler's ticks have a queue of their own, which workers consume in turn with the
# default one: a backlog of deliveries does not hold back dispatching, deadlines or checkpoints
SCHEDULE_QUEUE = "hub.schedule"

# The filesystem transport has no server to push messages: consumers poll the folder.
FILESYSTEM_POLL_SECONDS = 0.25


def broker_folders(settings: Settings) -> dict[str, Path]:
    """Where the embedded (filesystem) broker keeps its messages and exchange tables."""
    root = settings.data_dir / "broker"
    return {"root": root, "queue": root / "queue", "control": root / "control"}


def make_celery(settings: Settings, *, task_modules: Sequence[str] = ()) -> Celery:
    """The Celery app of the settings; a worker imports `task_modules` (the composition root's
    list, `hub.wiring.TASK_MODULES`) and the settings' `worker_include` at start."""
    app = Celery("hub", set_as_current=False)
    app.conf.update(
        broker_url=settings.celery_broker_url,
        broker_transport=filesystem.TRANSPORT if settings.is_embedded_broker else None,
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        include=[*task_modules, *settings.worker_include],
        task_default_queue=DEFAULT_QUEUE,
        task_queues=tuple(_queue(name) for name in (DEFAULT_QUEUE, SCHEDULE_QUEUE)),
        task_routes={name: {"queue": SCHEDULE_QUEUE} for name in SCHEDULED_TASKS},
        # JSON only: a broker message can never make a worker unpickle something
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        event_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        # a message is acknowledged after its task ran, and given back if the worker dies
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=settings.worker_max_tasks_per_child or None,
        worker_send_task_events=False,
        task_annotations={
            # a handler still running when its lease ends may be run again elsewhere; stop it
            # there (soft: it is retried; hard: a handler that ignores the soft limit)
            RUN_OUTBOX_TASK: {
                "soft_time_limit": settings.outbox_lease_seconds,
                "time_limit": settings.outbox_lease_seconds + 30,
            }
        },
        timezone="UTC",
        enable_utc=True,
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
        beat_schedule=_beat_schedule(settings),
    )
    if settings.is_embedded_broker:
        # the filesystem transport keeps per-worker reply queues for remote control that are
        # never removed; nothing in the hub uses remote control, so it stays off
        app.conf.worker_enable_remote_control = False
    return app


def _queue(name: str) -> Queue:
    # an exchange and a routing key of its own, named after it: declared by name alone, Celery
    # shows both queues bound to the default exchange and key, which is not how it routes
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


def _transport_options(settings: Settings) -> dict[str, Any]:
    if settings.is_embedded_broker:
        folders = broker_folders(settings)
        for key in ("root", "queue", "control"):
            folders[key].mkdir(parents=True, exist_ok=True, mode=0o700)
        queue = str(folders["queue"])
        return {
            # one host: producers and consumers share a single folder
            "data_folder_in": queue,
            "data_folder_out": queue,
            "control_folder": str(folders["control"]),
            "store_processed": False,
            "polling_interval": FILESYSTEM_POLL_SECONDS,
        }
    options: dict[str, Any] = {"visibility_timeout": settings.broker_visibility_timeout}
    if settings.broker_key_prefix:
        options["global_keyprefix"] = settings.broker_key_prefix
    return options


def _beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    # ticks expire so a scheduler running while no worker does leaves no backlog behind
    return {
        "outbox-dispatch": {
            "task": DISPATCH_OUTBOX_TASK,
            "schedule": settings.outbox_poll_seconds,
            "options": {"expires": max(10.0, settings.outbox_poll_seconds * 5)},
        },
        "referral-deadlines": {
            "task": DEADLINES_TASK,
            "schedule": float(settings.deadline_check_seconds),
            "options": {"expires": float(settings.deadline_check_seconds)},
        },
        # consent officers' time limits, checked as often as the referrals' deadlines
        "review-deadlines": {
            "task": REVIEW_DEADLINES_TASK,
            "schedule": float(settings.deadline_check_seconds),
            "options": {"expires": float(settings.deadline_check_seconds)},
        },
        # transfer offers' acceptance deadlines, as often
        "transfer-deadlines": {
            "task": TRANSFER_DEADLINES_TASK,
            "schedule": float(settings.deadline_check_seconds),
            "options": {"expires": float(settings.deadline_check_seconds)},
        },
        "fhir-task-poll": {
            "task": FHIR_POLL_TASK,
            "schedule": float(settings.fhir_poll_seconds),
            "options": {"expires": float(settings.fhir_poll_seconds)},
        },
        "audit-checkpoint": {
            "task": AUDIT_CHECKPOINT_TASK,
            "schedule": float(settings.audit_checkpoint_seconds),
            "options": {"expires": float(settings.audit_checkpoint_seconds)},
        },
        "session-purge": {
            "task": SESSION_PURGE_TASK,
            "schedule": SESSION_PURGE_SECONDS,
            "options": {"expires": SESSION_PURGE_SECONDS},
        },
        # the news owed to people after a disclosure on a legal basis (`hub.legal_bases`)
        "person-notices": {
            "task": PERSON_NOTICES_TASK,
            "schedule": float(settings.deadline_check_seconds),
            "options": {"expires": float(settings.deadline_check_seconds)},
        },
        # closed cases past the policy's retention, crypto-shredded (`hub.retention`)
        "retention": {
            "task": RETENTION_TASK,
            "schedule": float(settings.retention_run_seconds),
            "options": {"expires": float(settings.retention_run_seconds)},
        },
    }
