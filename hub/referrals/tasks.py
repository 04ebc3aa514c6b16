"""Outbox handlers of the referral flow. Each is a thin call into a service, idempotent, and
runs in the transaction that marks its message done (`hub.outbox.service.handler`).

Delivery (`referral.deliver`) is the connectors' (`hub.connectors.push`).
`review.decided` and `consent.withdrawn` concern case transfers too, and a topic has one
handler: the transfer flow (`hub.transfers.service`) is dispatched from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hub.connectors import notices
from hub.consent.service import WITHDRAWN_TOPIC
from hub.lifecycle import Party
from hub.outbox.service import PermanentError, handler
from hub.referrals import cascade, resubmission, sending, service
from hub.reviews.schemas import ReviewKind, ReviewStatus
from hub.reviews.service import DECIDED_TOPIC
from hub.transfers import resubmission as transfer_resubmission
from hub.transfers import service as transfers

if TYPE_CHECKING:
    from hub.runtime import Runtime

WITHDRAWAL_EVENT = "referral.consent_withdrawn"


@handler(DECIDED_TOPIC)
def review_decided(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
    review_id = payload["review_id"]
    outcome = ReviewStatus(payload["outcome"])
    approved = outcome is ReviewStatus.approved
    kind = payload["kind"]
    if outcome is ReviewStatus.returned:
        # sent back for correction: the request waits for its sender; nothing is sent
        if kind == ReviewKind.referral:
            resubmission.on_review_returned(db=db, runtime=runtime, review_id=review_id)
        elif kind == ReviewKind.transfer:
            transfer_resubmission.on_review_returned(db=db, runtime=runtime, review_id=review_id)
        else:
            raise PermanentError(f"unknown review kind {kind}")
    elif kind == ReviewKind.referral:
        sending.on_review_decided(db=db, runtime=runtime, review_id=review_id, approved=approved)
    elif kind == ReviewKind.transfer:
        transfers.on_review_decided(db=db, runtime=runtime, review_id=review_id, approved=approved)
    else:
        raise PermanentError(f"unknown review kind {kind}")


@handler(WITHDRAWN_TOPIC)
def consent_withdrawn(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
    ids = {k: payload[k] for k in ("consent_id", "series_id", "case_id")}
    cascade.cancel_for_withdrawal(db=db, keyring=runtime.keyring, **ids)
    transfers.cancel_for_withdrawal(db=db, runtime=runtime, **ids)


@handler(service.PARTY_NOTICE_TOPIC)
def party_notice(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
    """The other party's webhook, if it has one, learns of the move (`referral.<status>`)."""
    status = payload["status"]
    notices.push_about_referral(
        runtime,
        referral_id=payload["referral_id"],
        event=f"referral.{status}",
        to=Party(payload["to"]),
        key=status,
    )


@handler(cascade.NOTICE_TOPIC)
def withdrawal_notice(db: Session, runtime: Runtime, payload: dict[str, Any]) -> None:
    referral_id, series_id = payload["referral_id"], payload["series_id"]
    if cascade.notice_due(runtime, referral_id=referral_id, series_id=series_id):
        # pushed before anything is written here: no lock is held while the partner answers
        notices.push_about_referral(
            runtime,
            referral_id=referral_id,
            event=WITHDRAWAL_EVENT,
            to=Party.recipient,
            key=series_id,
        )
    cascade.notify_withdrawal(db=db, runtime=runtime, referral_id=referral_id, series_id=series_id)
