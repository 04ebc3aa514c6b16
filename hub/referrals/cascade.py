"""What a consent withdrawal does to the referrals that rest on it.

Referrals of the case relying on any version of the withdrawn series are cancelled (reason
`consent_withdrawn`) while they are still unanswered (`pending_review`, `sent`, `delivered`);
an acknowledged one is the recipient's to close. Every recipient that already received data
under that series is sent a withdrawal notice, whatever the referral's status: one notice per
referral and series, however often the cascade runs. `consequences` is that rule, the one
place it is written: the cascade acts on it, `preview` tells it before a withdrawal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audit.service import record as audit
from hub.clock import utcnow
from hub.consent.models import Consent
from hub.consent.withdrawal import Effect
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.session import transaction
from hub.disclosures import service as disclosures
from hub.lifecycle import Party, history, reasons
from hub.outbox.service import enqueue
from hub.referrals import service
from hub.referrals.lifecycle import WITHDRAWABLE
from hub.referrals.models import Referral, WithdrawalNotice

if TYPE_CHECKING:
    from hub.services import Services

NOTICE_TOPIC = "referral.withdrawal_notice"
NOTICE_EVENT = "consent_withdrawn_notice"


@dataclass(frozen=True)
class Consequence:
    """What a withdrawal of the series does to one referral resting on it."""

    referral: Referral
    cancel: bool  # still unanswered: cancelled
    notify: bool  # its recipient had data under the series and has not been told yet


def consequences(
    *, db: Session, series_id: str, case_id: str, lock: bool = False
) -> list[Consequence]:
    """THE rule (see the module), for the cascade (`lock`: the referrals locked, as it moves
    them) and for the preview a person sees before withdrawing (`preview`)."""
    versions = set(
        db.scalars(
            select(Consent.id).where(Consent.series_id == series_id, Consent.case_id == case_id)
        )
    )
    if not versions:
        return []
    query = (
        select(Referral)
        .where(Referral.case_id == case_id)
        .order_by(Referral.created_at, Referral.id)
    )
    referrals = db.scalars(query.with_for_update() if lock else query).all()
    out = []
    for referral in referrals:
        if not versions.intersection(referral.consent_ids):
            continue
        received = any(
            versions.intersection(d.consent_ids)
            for d in disclosures.for_referral(db=db, referral_id=referral.id)
        )
        notify = received and db.get(WithdrawalNotice, (referral.id, series_id)) is None
        cancel = referral.status in WITHDRAWABLE
        if cancel or notify:
            out.append(Consequence(referral, cancel=cancel, notify=notify))
    return out


def preview(*, db: Session, series_id: str, case_id: str) -> list[Effect]:
    """What withdrawing the series would do to the case's referrals (nothing changed)."""
    return [
        Effect(
            kind="referral",
            id=c.referral.id,
            to_organization_id=c.referral.to_organization_id,
            status=c.referral.status,
            cancelled=c.cancel,
            recipient_told=c.notify,
        )
        for c in consequences(db=db, series_id=series_id, case_id=case_id)
    ]


def cancel_for_withdrawal(
    *, db: Session, keyring: KeyEncryptionKeys, consent_id: str, series_id: str, case_id: str
) -> list[str]:
    """Cancel and notify (see the module); returns the ids of the referrals cancelled."""
    cancelled = []
    for consequence in consequences(db=db, series_id=series_id, case_id=case_id, lock=True):
        referral = consequence.referral
        if consequence.cancel:
            service.move(
                db=db,
                keyring=keyring,
                referral=referral,
                action="withdraw_consent",
                party=Party.system,
                actor=reasons.SYSTEM_ACTOR,
                organization_id=None,
                reason_code=reasons.CONSENT_WITHDRAWN,
            )
            cancelled.append(referral.id)
        if consequence.notify:
            db.add(
                WithdrawalNotice(
                    referral_id=referral.id,
                    series_id=series_id,
                    consent_id=consent_id,
                    recipient_organization_id=referral.to_organization_id,
                    queued_at=utcnow(),
                )
            )
            enqueue(
                db=db,
                topic=NOTICE_TOPIC,
                payload={"referral_id": referral.id, "series_id": series_id},
            )
    return cancelled


def withdrawals_told(db: Session, referral_ids: Sequence[str]) -> dict[str, datetime]:
    """When each of the referrals' recipients was first to be told of a withdrawal under it
    (the notice queued; referrals without one are left out)."""
    if not referral_ids:
        return {}
    rows = db.execute(
        select(WithdrawalNotice.referral_id, func.min(WithdrawalNotice.queued_at))
        .where(WithdrawalNotice.referral_id.in_(list(referral_ids)))
        .group_by(WithdrawalNotice.referral_id)
    )
    return {referral_id: at for referral_id, at in rows}


def notice_due(runtime: Services, *, referral_id: str, series_id: str) -> bool:
    """True while the withdrawal notice has not been given (read in a transaction of its own,
    before a push channel is called)."""
    with transaction(runtime.sessions) as db:
        notice = db.get(WithdrawalNotice, (referral_id, series_id))
        return notice is not None and notice.notified_at is None


def notify_withdrawal(*, db: Session, runtime: Services, referral_id: str, series_id: str) -> None:
    """Tell the recipient (once). Inbox: the notice is in the referral's history, which the
    recipient reads through the API; push channels deliver it from here."""
    notice = db.scalar(
        select(WithdrawalNotice)
        .where(WithdrawalNotice.referral_id == referral_id, WithdrawalNotice.series_id == series_id)
        .with_for_update()
    )
    if notice is None or notice.notified_at is not None:
        return
    referral = db.get_one(Referral, referral_id)
    notice.notified_at = utcnow()
    history.record_event(
        db=db,
        key=None,
        object_type=service.OBJECT_TYPE,
        object_id=referral.id,
        actor=reasons.SYSTEM_ACTOR,
        organization_id=None,
        from_status=referral.status,
        to_status=referral.status,
        reason_code=NOTICE_EVENT,
    )
    audit(
        db,
        actor=reasons.SYSTEM_ACTOR,
        action="referral.withdrawal_notified",
        object_type=service.OBJECT_TYPE,
        object_id=referral.id,
        details={
            "case_id": referral.case_id,
            "recipient_organization_id": notice.recipient_organization_id,
            "consent_id": notice.consent_id,
            "series_id": series_id,
        },
    )
