"""Outbox handlers of the referral flow. Each is a thin call into a service, idempotent, and
runs in the transaction that marks its message done (`hub.outbox.service.handler`).

Delivery (`referral.deliver`) is the connectors' (`hub.delivery.push`). A consent officer's
decision reaches referrals through their flow (`hub.lifecycle.tasks`), a consent withdrawal
through the consent's listeners (`hub.consent.tasks`): both are registered here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hub.delivery import notices
from hub.consent.tasks import on_withdrawal
from hub.lifecycle import Party
from hub.lifecycle import decisions as decided
from hub.outbox.service import handler
from hub.referrals import cascade, sending, service

if TYPE_CHECKING:
    from hub.runtime import Runtime

WITHDRAWAL_EVENT = "referral.consent_withdrawn"


decided.register(sending.FLOW)


@on_withdrawal
def consent_withdrawn(
    db: Session, runtime: Runtime, consent_id: str, series_id: str, case_id: str
) -> None:
    cascade.cancel_for_withdrawal(
        db=db, keyring=runtime.keyring, consent_id=consent_id, series_id=series_id, case_id=case_id
    )


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
