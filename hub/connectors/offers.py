"""Preparing the push of a case transfer offer (see `hub.connectors.push`).

Within one IOM hierarchy the gate is not asked (one controller), as when the transfer was
made. Otherwise it is asked again, for the whole case to the recipient: a consent withdrawn
since cancels the transfer (`consent_withdrawn`), a denial or a new review trigger not covered
by the approved review cancels it too (`consent_denied`, `review_required`); nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hub.cases import service as cases
from hub.cases.models import Case
from hub.connectors.models import Delivery
from hub.connectors.package import OfferPackage, OrganizationRef
from hub.consent.gate import Outcome
from hub.lifecycle import Party
from hub.organizations.models import Organization
from hub.policy.rules import Reason
from hub.referrals.sending import review_covers
from hub.reviews.models import Review
from hub.transfers import handover, moves, reading
from hub.transfers.models import Transfer

if TYPE_CHECKING:
    from hub.runtime import Runtime


@dataclass(frozen=True)
class Offer:
    package: OfferPackage | None  # None: stopped, with `stop_code`
    stop_code: str | None = None
    decision_id: str | None = None
    consent_ids: tuple[str, ...] = ()


def _org(row: Organization) -> OrganizationRef:
    return OrganizationRef(id=row.id, name=row.name, kind=row.kind)


def _cancel(db: Session, runtime: Runtime, transfer: Transfer, action: str, code: str) -> Offer:
    moves.move(
        db=db,
        keyring=runtime.keyring,
        transfer=transfer,
        action=action,
        party=Party.system,
        actor=moves.SYSTEM_ACTOR,
        organization_id=None,
        reason_code=code,
    )
    return Offer(None, code)


def prepare(db: Session, runtime: Runtime, delivery: Delivery, transfer: Transfer) -> Offer:
    """The offer to push, or why not (the transfer is then cancelled by the hub)."""
    case = db.get_one(Case, transfer.case_id)
    decision_id, consent_ids = transfer.decision_id, tuple(transfer.consent_ids)
    if not transfer.within_hierarchy:
        if handover.rests_on_withdrawn_consent(db, list(transfer.consent_ids)):
            return _cancel(db, runtime, transfer, "withdraw_consent", moves.CONSENT_WITHDRAWN)
        decision = handover.decide(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            case=case,
            to=transfer.to_organization_id,
            actor=moves.SYSTEM_ACTOR,
            context="delivery",
        )
        if Reason.consent_withdrawn.value in decision.codes:
            return _cancel(db, runtime, transfer, "withdraw_consent", moves.CONSENT_WITHDRAWN)
        if decision.outcome is Outcome.deny:
            return _cancel(db, runtime, transfer, "block", moves.CONSENT_DENIED)
        if decision.outcome is Outcome.review:
            review = db.get(Review, transfer.review_id) if transfer.review_id else None
            if not review_covers(runtime.policy, review, decision):
                return _cancel(db, runtime, transfer, "block", moves.REVIEW_REQUIRED)
        decision_id, consent_ids = decision.id, tuple(decision.consent_ids)
    key = cases.live_key(db=db, keyring=runtime.keyring, case_id=case.id)
    plan = reading.open_plan(key, transfer)
    if plan is None:
        return Offer(None, "case_erased")
    brief = reading.brief(db=db, keyring=runtime.keyring, case=case)
    package = OfferPackage(
        delivery_id=delivery.id,
        attempt=delivery.attempts,
        transfer_id=transfer.id,
        sender=_org(db.get_one(Organization, transfer.from_organization_id)),
        recipient=_org(db.get_one(Organization, transfer.to_organization_id)),
        within_hierarchy=transfer.within_hierarchy,
        status=transfer.status,
        offered_at=transfer.updated_at,
        case=brief.model_dump(mode="json"),
        plan=plan.model_dump(mode="json"),
    )
    return Offer(package, None, decision_id, consent_ids)
