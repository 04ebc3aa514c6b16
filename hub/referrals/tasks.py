"""Outbox handlers of the referral flow. Each is a thin call into a service, idempotent, and
runs in the transaction that marks its message done (`hub.outbox.service.handler`).

Delivery (`referral.deliver`) and the notices pushed to partners (`referral.party_notice`,
`referral.withdrawal_notice`) are the delivery workflow's (`hub.delivery.tasks`). A consent
officer's decision reaches referrals through their flow (`hub.lifecycle.tasks`), a consent
withdrawal through the consent's listeners (`hub.consent.tasks`): `install()` connects both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hub.consent.tasks import on_withdrawal
from hub.lifecycle import decisions as decided
from hub.referrals import cascade, sending

if TYPE_CHECKING:
    from hub.services import Services


def consent_withdrawn(
    db: Session, runtime: Services, consent_id: str, series_id: str, case_id: str
) -> None:
    cascade.cancel_for_withdrawal(
        db=db, keyring=runtime.keyring, consent_id=consent_id, series_id=series_id, case_id=case_id
    )


def install() -> None:
    decided.register(sending.FLOW)
    on_withdrawal(consent_withdrawn)
