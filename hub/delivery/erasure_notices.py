"""The notice to an organisation that held an erased case's data (`case.erased`).

`hub.erasure.service.erase` queues one per organisation the accounting of disclosures names;
this handler pushes it to the organisation's webhook, if it has one, then records it in the
audit. What it says: the case's id, the ids of the referrals and transfers through which its
data went to that organisation, and why it was erased (`request` or `retention`) — ids and
codes only, never anything of the case (there is nothing left to read). An organisation on the
inbox finds its reads of those referrals answered `case_erased`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.db.session import transaction
from hub.delivery import notices
from hub.disclosures.models import Disclosure
from hub.lifecycle import reasons

if TYPE_CHECKING:
    from hub.services import Services

EVENT = "case.erased"


def shaped(
    *, case_id: str, why: str, referral_ids: list[str], transfer_ids: list[str]
) -> dict[str, Any]:
    return {
        "event": EVENT,
        "case": {"id": case_id, "erased_because": why},
        "referrals": referral_ids,
        "transfers": transfer_ids,
    }


def erasure_notice(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
    case_id, organization_id, why = payload["case_id"], payload["organization_id"], payload["why"]
    with transaction(runtime.sessions) as read:
        rows = read.execute(
            select(Disclosure.referral_id, Disclosure.transfer_id).where(
                Disclosure.case_id == case_id,
                Disclosure.recipient_organization_id == organization_id,
            )
        ).all()
    referral_ids = sorted({r for r, _ in rows if r})
    transfer_ids = sorted({t for _, t in rows if t})
    pushed = notices.push(
        runtime,
        organization_id=organization_id,
        # once per case and organisation (a partner drops a copy by its delivery id)
        delivery_id=notices.notice_id(EVENT, case_id, organization_id),
        shaped=shaped(
            case_id=case_id, why=why, referral_ids=referral_ids, transfer_ids=transfer_ids
        ),
    )
    record(
        db,
        actor=reasons.SYSTEM_ACTOR,
        action="case.erasure_notice_sent",
        object_type="case",
        object_id=case_id,
        details={"organization_id": organization_id, "why": why, "pushed": pushed},
    )
