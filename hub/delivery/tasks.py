"""Celery side of the delivery workflow: its outbox handlers and the scheduled read-back of the
Tasks pushed to partners' FHIR servers.

The requests and the reviews queue what a partner is to be told (a delivery, a notice) on the
outbox under their own topics; the handlers that push it are here, so those packages never
import the workflow. Each notice is pushed before anything is written (no lock is held while a
partner answers), then the request's own module writes what follows from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from celery import shared_task
from sqlalchemy.orm import Session

from hub.db.session import transaction
from hub.delivery import erasure_notices, fhir_updates, notices, polling, push, service
from hub.erasure.service import NOTICE_TOPIC as ERASURE_NOTICE_TOPIC
from hub.lifecycle import Party
from hub.outbox.service import Handler, handler
from hub.referrals import cascade
from hub.referrals import data_life as referral_data_life
from hub.referrals import scheduled as referral_deadlines
from hub.referrals import service as referrals
from hub.reviews import scheduled as review_deadlines
from hub.reviews.models import Review
from hub.transfers import scheduled as transfer_deadlines
from hub.transfers.models import Transfer
from hub.transfers.requests import notices as request_notices
from hub.transfers.requests.models import TransferRequest
from hub.worker.celery_app import FHIR_POLL_TASK
from hub.worker.process import worker_runtime

if TYPE_CHECKING:
    from hub.services import Services

WITHDRAWAL_EVENT = "referral.consent_withdrawn"


@shared_task(name=FHIR_POLL_TASK, acks_late=True, ignore_result=True)
def poll_fhir_tasks() -> int:
    return polling.poll_due(worker_runtime())


def party_notice(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
    """The other party's webhook, if it has one, learns of the move (`referral.<status>`)."""
    status = payload["status"]
    notices.push_about_referral(
        runtime,
        referral_id=payload["referral_id"],
        event=f"referral.{status}",
        to=Party(payload["to"]),
        key=status,
    )


def withdrawal_notice(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
    """The recipient told of the withdrawal (once per referral and series): by its webhook, or
    on the Task its FHIR server holds (queued here, in this message's transaction)."""
    referral_id, series_id = payload["referral_id"], payload["series_id"]
    if cascade.notice_due(runtime, referral_id=referral_id, series_id=series_id):
        notices.push_about_referral(
            runtime,
            referral_id=referral_id,
            event=WITHDRAWAL_EVENT,
            to=Party.recipient,
            key=series_id,
        )
        fhir_updates.withdrawn(db, referral_id)
    cascade.notify_withdrawal(db=db, runtime=runtime, referral_id=referral_id, series_id=series_id)


def _referral_deadline_notice(topic: str) -> Handler:
    def notify(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
        # once per referral, topic and stage (a partner drops a copy by its delivery id)
        key = f"{topic}:{payload['stage']}" if payload.get("stage") else topic
        for to in referral_deadlines.addressees(topic):
            notices.push_about_referral(
                runtime,
                referral_id=payload["referral_id"],
                event=topic,
                to=to,
                key=key if len(referral_deadlines.addressees(topic)) == 1 else f"{key}:{to}",
            )
        referral_deadlines.notice_pushed(db, topic=topic, referral_id=payload["referral_id"])

    return notify


def _data_life_notice(topic: str) -> Handler:
    def notify(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
        referral_id, erase_by = payload["referral_id"], payload["erase_by"]
        notices.push_data_life(
            runtime,
            referral_id=referral_id,
            event=topic,
            to=referral_data_life.NOTICE_ACTIONS[topic][1],
            erase_by=erase_by,
        )
        referral_data_life.notice_pushed(
            db, topic=topic, referral_id=referral_id, erase_by=erase_by
        )

    return notify


def _review_deadline_notice(topic: str) -> Handler:
    def notify(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
        review_id = payload["review_id"]
        # once per review and topic
        with transaction(runtime.sessions) as read:
            review = read.get(Review, review_id)
            if review is None:
                return
            shaped = review_deadlines.review_notice(topic, review, runtime.settings.public_url)
            organization_id = review_deadlines.addressee(review)
        notices.push(
            runtime,
            organization_id=organization_id,
            delivery_id=notices.notice_id(topic, review_id),
            shaped=shaped,
        )
        review_deadlines.notice_pushed(
            db, topic=topic, review_id=review_id, organization_id=organization_id
        )

    return notify


@dataclass(frozen=True)
class PartyNotices:
    """The deadline notices of one kind of object whose two parties are each told by their
    webhook (transfers, transfer requests): where the payload names the object, what each
    topic tells whom, and the object's own module's shaping and audit of them."""

    model: type[Any]
    id_key: str
    actions: Mapping[str, tuple[str, tuple[Party, ...]]]
    organization_of: Callable[[Any, Party], str]
    shape: Callable[[str, Any, str], dict[str, Any]]
    pushed: Callable[[Session, str, str], None]


def _party_deadline_notice(kind: PartyNotices, topic: str) -> Handler:
    def notify(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
        object_id = payload[kind.id_key]
        with transaction(runtime.sessions) as read:
            found = read.get(kind.model, object_id)
            if found is None:
                return
            shaped = kind.shape(topic, found, runtime.settings.public_url)
            told = [(party, kind.organization_of(found, party)) for party in kind.actions[topic][1]]
        # once per object, topic and party (a partner drops a copy by its delivery id)
        for party, organization_id in told:
            notices.push(
                runtime,
                organization_id=organization_id,
                delivery_id=notices.notice_id(topic, object_id, party.value),
                shaped=shaped,
            )
        kind.pushed(db, topic, object_id)

    return notify


TRANSFER_NOTICES = PartyNotices(
    model=Transfer,
    id_key="transfer_id",
    actions=transfer_deadlines.NOTICE_ACTIONS,
    organization_of=transfer_deadlines.organization_of,
    shape=transfer_deadlines.transfer_notice,
    pushed=lambda db, topic, object_id: transfer_deadlines.notice_pushed(
        db, topic=topic, transfer_id=object_id
    ),
)
REQUEST_NOTICES = PartyNotices(
    model=TransferRequest,
    id_key="request_id",
    actions=request_notices.NOTICE_ACTIONS,
    organization_of=request_notices.organization_of,
    shape=request_notices.request_notice,
    pushed=lambda db, topic, object_id: request_notices.notice_pushed(
        db, topic=topic, request_id=object_id
    ),
)


# made once, so installing again finds the same handlers
HANDLERS: dict[str, Handler] = {
    referrals.PARTY_NOTICE_TOPIC: party_notice,
    cascade.NOTICE_TOPIC: withdrawal_notice,
    fhir_updates.TOPIC: fhir_updates.write,
    fhir_updates.NOTICE_TOPIC: fhir_updates.notify,
    ERASURE_NOTICE_TOPIC: erasure_notices.erasure_notice,
    **{topic: _referral_deadline_notice(topic) for topic in referral_deadlines.NOTICE_ACTIONS},
    **{topic: _review_deadline_notice(topic) for topic in review_deadlines.NOTICE_ACTIONS},
    **{
        topic: _party_deadline_notice(TRANSFER_NOTICES, topic) for topic in TRANSFER_NOTICES.actions
    },
    **{topic: _data_life_notice(topic) for topic in referral_data_life.NOTICE_ACTIONS},
    **{topic: _party_deadline_notice(REQUEST_NOTICES, topic) for topic in REQUEST_NOTICES.actions},
}


def install() -> None:
    """The workflow's handlers on the outbox, and the requests' hook that starts deliveries."""
    service.install()
    fhir_updates.install()
    for topic in (service.DELIVER_TOPIC, service.TRANSFER_TOPIC):
        handler(topic, on_dead=service.on_dead)(push.deliver)
    for topic, fn in HANDLERS.items():
        handler(topic)(fn)
