"""The notice to an organisation that held an erased case's data (`case.erased`).

`hub.erasure.service.erase` queues one per organisation the accounting of disclosures names;
this handler pushes it to the organisation's webhook, if it has one, then records it in the
audit. What it says: the case's id, the ids of the referrals and transfers through which its
data went to that organisation, and why it was erased (`request` or `retention`) — ids and
codes only, never anything of the case (there is nothing left to read). An organisation on the
inbox finds its reads of those referrals answered `case_erased`.

An organisation with no webhook (on the inbox, or on FHIR: no system of its own that could take
the notice) is told through its people instead: a notification to its case workers and
administrators (`HOLDER_AUDIENCES`: those who work the referrals it received and those who
answer for its data), as a deadline's step notifies people (`hub.notifications`), in the
console's notifications page. It names the case by id and why it was erased (the stage), no
more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.cases.models import Case
from hub.db.session import transaction
from hub.delivery import notices
from hub.disclosures.models import Disclosure
from hub.lifecycle import reasons
from hub.notifications import service as notifications
from hub.policy.rules import Audience

if TYPE_CHECKING:
    from hub.services import Services

EVENT = "case.erased"
# who is told in person at a holder without a webhook
HOLDER_AUDIENCES = (Audience.recipient_case_workers, Audience.recipient_admins)


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
        owner = read.scalar(select(Case.owner_organization_id).where(Case.id == case_id))
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
    if not pushed:
        # no system of its own to take the notice: its people are told (in this transaction)
        notifications.announce(
            db,
            audiences=HOLDER_AUDIENCES,
            object_type="case",
            object_id=case_id,
            step="erased",
            stage=why,
            parties=notifications.Parties(
                sender_organization_id=owner or organization_id,
                recipient_organization_id=organization_id,
                made_by=None,
            ),
        )
    record(
        db,
        actor=reasons.SYSTEM_ACTOR,
        action="case.erasure_notice_sent",
        object_type="case",
        object_id=case_id,
        details={
            "organization_id": organization_id,
            "why": why,
            "pushed": pushed,
            "people_told": not pushed,
        },
    )
