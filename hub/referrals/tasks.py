"""Outbox handlers of the referral flow. Each is a thin call into a service, idempotent, and
runs in the transaction that marks its message done (`hub.outbox.service.handler`).

Delivery (`referral.deliver`) and the notices pushed to partners (`referral.party_notice`,
`referral.withdrawal_notice`) are the delivery workflow's (`hub.delivery.tasks`). A consent
officer's decision reaches referrals through their flow (`hub.lifecycle.tasks`), a consent
withdrawal through the consent's listeners (`hub.consent.tasks`): `install()` connects both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hub.cases import service as cases
from hub.consent.tasks import on_withdrawal
from hub.consent.withdrawal import on_preview
from hub.lifecycle import decisions as decided
from hub.referrals import cascade, sending
from hub.referrals.lifecycle import FINAL
from hub.referrals.models import Referral

if TYPE_CHECKING:
    from hub.services import Services


def consent_withdrawn(
    db: Session, runtime: Services, consent_id: str, series_id: str, case_id: str
) -> None:
    cascade.cancel_for_withdrawal(
        db=db, keyring=runtime.keyring, consent_id=consent_id, series_id=series_id, case_id=case_id
    )


def _open_case_ids() -> Select[tuple[str]]:
    # a referral not in one of its lifecycle's final states
    return select(Referral.case_id).where(Referral.status.not_in(sorted(FINAL)))


def install() -> None:
    decided.register(sending.FLOW)
    on_withdrawal(consent_withdrawn)
    # what a withdrawal would do, told before it is done: the same rule as the listener's
    on_preview(cascade.preview)
    # the cases' `has_open_referrals` filter (GET /v1/cases, the console's list): cases know
    # nothing of referrals, so the rule is handed to them
    cases.counts_open_referrals(_open_case_ids)
