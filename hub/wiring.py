"""The hub's parts connected once, as it starts.

Nothing registers itself by being imported: each domain that hooks into another says how in its
own `install()` (an outbox handler for a topic, a consent officer's decision reaching a request's
flow, a withdrawal's listeners, the requests' hook that starts a delivery), and `install()` here
calls them all. `hub.runtime.Runtime` calls it when it is built, so the API, the CLI and every
worker run with the same connections, made before their first request or task.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.consent import tasks as consent_tasks
from hub.console import statement_words
from hub.delivery import tasks as delivery_tasks
from hub.lifecycle import tasks as lifecycle_tasks
from hub.notifications import tasks as notification_tasks
from hub.referrals import service as referral_service
from hub.referrals import tasks as referral_tasks
from hub.transfers import tasks as transfer_tasks
from hub.transfers.requests import service as transfer_requests

INSTALLS: tuple[Callable[[], None], ...] = (
    consent_tasks.install,
    lifecycle_tasks.install,
    referral_tasks.install,
    transfer_tasks.install,
    delivery_tasks.install,
    notification_tasks.install,
    statement_words.install,
)

# The modules that declare the hub's Celery tasks (`shared_task`: the outbox's runner and
# dispatcher, the scheduled jobs), which a worker imports at start (Celery's `include`).
TASK_MODULES: tuple[str, ...] = (
    "hub.outbox.tasks",
    "hub.worker.tasks",
    "hub.referrals.scheduled",
    "hub.reviews.scheduled",
    "hub.transfers.scheduled",
    "hub.delivery.tasks",
    "hub.users.scheduled",
    "hub.retention.scheduled",
    "hub.legal_bases.scheduled",
)


def _connect_requests() -> None:
    # a transfer request may name its case by a referral its requester received: the
    # referrals' rule, handed to the transfers (siblings that never import each other)
    transfer_requests.on_referral_lookup(referral_service.case_received)


def install() -> None:
    """Connect every part; running it again changes nothing."""
    for install_part in INSTALLS:
        install_part()
    _connect_requests()
