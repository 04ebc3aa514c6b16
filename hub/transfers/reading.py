"""What the recipient of a case transfer may have of its offer (the plan and the case's brief)
at this moment: one rule, for the push of the offer to a webhook (`hub.delivery.offers`) and
for the recipient's read through the API (`read`, which each time asks the gate and accounts
for what it released, channel `inbox`).

Within one IOM hierarchy the gate is not asked (one controller), as when the transfer was made.
Otherwise it is asked again, for the whole case to the recipient (purpose `case_transfer`):
- a consent the transfer rests on withdrawn since → nothing; a transfer still `sent` is
  cancelled (`consent_withdrawn`), as the withdrawal cascade would have done;
- deny → nothing (`consent_denied`, with the gate's codes);
- review → nothing unless the approved review of this transfer covered every trigger raised now
  (`review_required` otherwise);
- permit → the plan and the brief, unless the case was erased (`case_erased`).
The caller accounts for what left (a Disclosure row, no data category: the case file is released
only on acceptance) and, for the push, decides what a refusal does to the transfer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hub.cases import service as cases
from hub.cases.models import Case
from hub.consent.answers import Answer, any_withdrawn, meaning
from hub.crypto.keyring import KeyEncryptionKeys
from hub.disclosures import service as disclosures
from hub.lifecycle import Party, history, reasons
from hub.lifecycle.schemas import EventRead
from hub.policy.legal_bases import CONSENT
from hub.policy.loader import Policy
from hub.reviews.coverage import approved_for
from hub.reviews.service import latest_outcome
from hub.transfers import handover, service
from hub.transfers.lifecycle import COMPLETED, SENT
from hub.transfers.models import Transfer
from hub.transfers.schemas import CaseBrief, TransferPlan, TransferRead

CASE_ERASED = "case_erased"
# rejected or cancelled: the recipient keeps the history, not the plan
TRANSFER_CLOSED = "transfer_closed"


@dataclass(frozen=True)
class OfferCheck:
    """The plan and brief the recipient may have now, or why not (`withheld`)."""

    plan: TransferPlan | None
    brief: CaseBrief | None
    # None when released; otherwise [{"code": ..., "decision_id"?, "codes"?}]
    withheld: list[dict[str, Any]] | None
    decision_id: str | None = None
    consent_ids: tuple[str, ...] = ()
    # what the release rests on: `consent`, or the transfer's legal basis
    legal_basis: str = CONSENT

    @property
    def code(self) -> str | None:
        return str(self.withheld[0]["code"]) if self.withheld else None

    def payload(self) -> dict[str, Any]:
        """What leaves, in the one form that is hashed for the accounting."""
        if self.plan is None or self.brief is None:
            raise ValueError("nothing was released")
        brief, plan = self.brief.model_dump(mode="json"), self.plan.model_dump(mode="json")
        return {"case": brief, "plan": plan}


def _withheld(code: str, **details: Any) -> OfferCheck:
    return OfferCheck(None, None, [{"code": code, **details}])


def _withdrawn(
    db: Session, keyring: KeyEncryptionKeys, transfer: Transfer, decision_id: str | None
) -> OfferCheck:
    if transfer.status == SENT:
        service.move(
            db=db,
            keyring=keyring,
            transfer=transfer,
            action="withdraw_consent",
            party=Party.system,
            actor=reasons.SYSTEM_ACTOR,
            organization_id=None,
            reason_code=reasons.CONSENT_WITHDRAWN,
        )
    details = {"decision_id": decision_id} if decision_id else {}
    return _withheld(reasons.CONSENT_WITHDRAWN, **details)


def evaluate(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    transfer: Transfer,
    actor: str,
    context: str,
) -> OfferCheck:
    """See the module. Lock the transfer first: a withdrawal found here cancels it."""
    case = db.get_one(Case, transfer.case_id)
    decision_id, consent_ids = transfer.decision_id, tuple(transfer.consent_ids)
    legal_basis = CONSENT
    if not transfer.within_hierarchy:
        if any_withdrawn(db, transfer.consent_ids):
            return _withdrawn(db, keyring, transfer, None)
        decision = handover.decide(
            db=db,
            keyring=keyring,
            policy=policy,
            case=case,
            to=transfer.to_organization_id,
            actor=actor,
            context=context,
            legal_basis=transfer.legal_basis,
        )
        answer = meaning(policy, decision, approved=approved_for(db, transfer.review_id))
        if answer is Answer.withdrawn:
            return _withdrawn(db, keyring, transfer, decision.id)
        if answer is Answer.denied:
            return _withheld(reasons.CONSENT_DENIED, decision_id=decision.id, codes=decision.codes)
        if answer is Answer.review:
            return _withheld(reasons.REVIEW_REQUIRED, decision_id=decision.id, codes=decision.codes)
        decision_id, consent_ids = decision.id, tuple(decision.consent_ids)
        legal_basis = decision.legal_basis
    plan = service.open_plan(cases.live_key(db=db, keyring=keyring, case_id=case.id), transfer)
    if plan is None:
        return _withheld(CASE_ERASED)
    brief = service.brief(db=db, keyring=keyring, case=case)
    return OfferCheck(plan, brief, None, decision_id, consent_ids, legal_basis)


def account(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    transfer: Transfer,
    check: OfferCheck,
    actor: str,
    channel: str,
) -> None:
    """Record the disclosure of the offer `evaluate` released, once it has left by `channel`:
    the plan and the brief, no data category (the case file leaves only on acceptance). On a
    legal basis, the first such disclosure opens the news owed to the person."""
    if check.withheld is not None:
        return
    service.account(
        db=db,
        policy=policy,
        transfer=transfer,
        actor=actor,
        categories=[],
        consent_ids=check.consent_ids,
        decision_id=check.decision_id,
        channel=channel,
        payload_sha256=disclosures.payload_sha256(check.payload()),
        legal_basis=check.legal_basis,
        keyring=keyring,
    )


def _as_recipient(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    transfer: Transfer,
    organization_id: str,
    actor: str,
) -> OfferCheck:
    """What the recipient's read carries of the offer, accounted for when anything left."""
    if transfer.status not in service.STILL_OFFERED:
        return _withheld(TRANSFER_CLOSED)
    case = db.get_one(Case, transfer.case_id)
    if case.owner_organization_id == organization_id:
        # the transfer completed: the case is the caller's own now, nothing is disclosed
        key = cases.live_key(db=db, keyring=keyring, case_id=case.id)
        plan = service.open_plan(key, transfer)
        if plan is None:
            return _withheld(CASE_ERASED)
        return OfferCheck(plan, service.brief(db=db, keyring=keyring, case=case), None)
    # locked and read afresh: two reads that find a withdrawal cancel the transfer once
    db.refresh(transfer, with_for_update=True)
    if transfer.status not in service.STILL_OFFERED:
        return _withheld(TRANSFER_CLOSED)
    check = evaluate(
        db=db, keyring=keyring, policy=policy, transfer=transfer, actor=actor, context="read"
    )
    account(
        db=db,
        keyring=keyring,
        policy=policy,
        transfer=transfer,
        check=check,
        actor=actor,
        channel=disclosures.CHANNEL_INBOX,
    )
    return check


def read(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    transfer: Transfer,
    organization_id: str,
    actor: str,
) -> TransferRead:
    """The transfer as the caller sees it (resolve it with `service.get` first).

    The sender sees its plan and what the plan hands over. The recipient gets the plan and the
    brief only as `evaluate` allows now, each read accounted for (`plan_withheld` says why not).
    """
    party = service.party_of(transfer, organization_id)
    if party is Party.sender:
        key = cases.live_key(db=db, keyring=keyring, case_id=transfer.case_id)
        categories, withheld = service.planned(db, transfer)
        return TransferRead(
            **service.summary_fields(transfer, party),
            plan=service.open_plan(key, transfer),
            case=None,
            categories=categories,
            withheld_categories=withheld,
            released_categories=_released(db, transfer),
            review=latest_outcome(db=db, review_id=transfer.review_id),
        )
    check = _as_recipient(
        db=db,
        keyring=keyring,
        policy=policy,
        transfer=transfer,
        organization_id=organization_id,
        actor=actor,
    )
    # read after the check: a withdrawal it found has just cancelled the transfer
    return TransferRead(
        **service.summary_fields(transfer, party),
        plan=check.plan,
        case=check.brief,
        plan_withheld=check.withheld,
        categories=None,
        withheld_categories=None,
        released_categories=_released(db, transfer),
    )


def _released(db: Session, transfer: Transfer) -> list[str] | None:
    return service.released(db, transfer) if transfer.status == COMPLETED else None


def events(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    transfer: Transfer,
    organization_id: str,
    actor: str,
) -> list[EventRead]:
    """The transfer's history as the caller sees it (resolve it with `service.get` first).

    The sender's free text in events (why it cancelled, say) is its words about the case: the
    recipient gets it as it gets the plan, only when `evaluate` releases the offer now (also once
    the transfer is closed: a cancellation's reason comes with a consent still valid), never
    once a consent the transfer rests on is withdrawn; each release is accounted for (channel
    `inbox`, no category). The recipient's own words, and everyone's codes, are always there.
    """
    sender = transfer.from_organization_id

    def read(text_withheld_from: str | None = None) -> list[EventRead]:
        return service.events(
            db=db,
            keyring=keyring,
            transfer=transfer,
            viewer=organization_id,
            text_withheld_from=text_withheld_from,
        )

    case = db.get_one(Case, transfer.case_id)
    if (
        service.party_of(transfer, organization_id) is Party.sender
        or case.owner_organization_id == organization_id  # its own case now
        or case.erased_at is not None  # the words went with the case's key
        or not history.has_text_from(
            db=db, object_type=service.OBJECT_TYPE, object_id=transfer.id, organization_id=sender
        )
    ):
        return read()
    # locked and read afresh: a withdrawal found here cancels a sent transfer once
    db.refresh(transfer, with_for_update=True)
    check = evaluate(
        db=db, keyring=keyring, policy=policy, transfer=transfer, actor=actor, context="events"
    )
    if check.withheld is not None:
        return read(text_withheld_from=sender)
    items = read()
    disclosure = history.account_words(
        db=db,
        keyring=keyring,
        items=items,
        sender=sender,
        actor=actor,
        case_id=transfer.case_id,
        recipient_organization_id=transfer.to_organization_id,
        consent_ids=list(check.consent_ids),
        decision_id=check.decision_id,
        transfer_id=transfer.id,
        legal_basis=check.legal_basis,
    )
    if disclosure is not None:
        service.owe_news(db, policy, transfer, check.legal_basis, disclosure)
    return items
