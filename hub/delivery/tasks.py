"""Celery side of the delivery workflow: its outbox handlers and the scheduled read-back of the
Tasks pushed to partners' FHIR servers.

The requests and the reviews queue what a partner is to be told (a delivery, a notice) on the
outbox under their own topics; the handlers that push it are here, so those packages never
import the workflow. Each notice is pushed before anything is written (no lock is held while a
partner answers), then the request's own module writes what follows from it.
"""

from __future__ import annotations

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


def _transfer_deadline_notice(topic: str) -> Handler:
    def notify(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
        transfer_id = payload["transfer_id"]
        with transaction(runtime.sessions) as read:
            transfer = read.get(Transfer, transfer_id)
            if transfer is None:
                return
            shaped = transfer_deadlines.transfer_notice(
                topic, transfer, runtime.settings.public_url
            )
            told = [
                (party, transfer_deadlines.organization_of(transfer, party))
                for party in transfer_deadlines.NOTICE_ACTIONS[topic][1]
            ]
        # once per transfer, topic and party (a partner drops a copy by its delivery id)
        for party, organization_id in told:
            notices.push(
                runtime,
                organization_id=organization_id,
                delivery_id=notices.notice_id(topic, transfer_id, party.value),
                shaped=shaped,
            )
        transfer_deadlines.notice_pushed(db, topic=topic, transfer_id=transfer_id)

    return notify


def _transfer_request_deadline_notice(topic: str) -> Handler:
    def notify(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
        request_id = payload["request_id"]
        with transaction(runtime.sessions) as read:
            request = read.get(TransferRequest, request_id)
            if request is None:
                return
            shaped = request_notices.request_notice(topic, request, runtime.settings.public_url)
            told = [
                (party, request_notices.organization_of(request, party))
                for party in request_notices.NOTICE_ACTIONS[topic][1]
            ]
        # once per request, topic and party (a partner drops a copy by its delivery id)
        for party, organization_id in told:
            notices.push(
                runtime,
                organization_id=organization_id,
                delivery_id=notices.notice_id(topic, request_id, party.value),
                shaped=shaped,
            )
        request_notices.notice_pushed(db, topic=topic, request_id=request_id)

    return notify


# made once, so installing again finds the same handlers
HANDLERS: dict[str, Handler] = {
    referrals.PARTY_NOTICE_TOPIC: party_notice,
    cascade.NOTICE_TOPIC: withdrawal_notice,
    fhir_updates.TOPIC: fhir_updates.write,
    fhir_updates.NOTICE_TOPIC: fhir_updates.notify,
    ERASURE_NOTICE_TOPIC: erasure_notices.erasure_notice,
    **{topic: _referral_deadline_notice(topic) for topic in referral_deadlines.NOTICE_ACTIONS},
    **{topic: _review_deadline_notice(topic) for topic in review_deadlines.NOTICE_ACTIONS},
    **{topic: _transfer_deadline_notice(topic) for topic in transfer_deadlines.NOTICE_ACTIONS},
    **{topic: _data_life_notice(topic) for topic in referral_data_life.NOTICE_ACTIONS},
    **{topic: _transfer_request_deadline_notice(topic) for topic in request_notices.NOTICE_ACTIONS},
}


def install() -> None:
    """The workflow's handlers on the outbox, and the requests' hook that starts deliveries."""
    service.install()
    fhir_updates.install()
    for topic in (service.DELIVER_TOPIC, service.TRANSFER_TOPIC):
        handler(topic, on_dead=service.on_dead)(push.deliver)
    for topic, fn in HANDLERS.items():
        handler(topic)(fn)
