"""Preparing the push of a case transfer offer (see `hub.delivery.push`).

What may go is `hub.transfers.reading.evaluate`'s to say (the same rule as the recipient's read
through the API): a consent withdrawn since cancels the transfer (`consent_withdrawn`); at the
push, a denial or a new review trigger not covered by the approved review cancels it too
(`consent_denied`, `review_required`); nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hub.connectors.package import OfferPackage, OrganizationRef
from hub.delivery.models import Delivery
from hub.lifecycle import Party, reasons
from hub.organizations.models import Organization
from hub.transfers import reading, service
from hub.transfers.models import Transfer

if TYPE_CHECKING:
    from hub.services import Services


@dataclass(frozen=True)
class Offer:
    package: OfferPackage | None  # None: stopped, with `stop_code`
    stop_code: str | None = None
    decision_id: str | None = None
    consent_ids: tuple[str, ...] = ()
    # what the offer's release rests on: `consent`, or the transfer's legal basis
    legal_basis: str = "consent"


def _org(row: Organization) -> OrganizationRef:
    return OrganizationRef(id=row.id, name=row.name, kind=row.kind)


def _cancel(db: Session, runtime: Services, transfer: Transfer, action: str, code: str) -> Offer:
    service.move(
        db=db,
        keyring=runtime.keyring,
        transfer=transfer,
        action=action,
        party=Party.system,
        actor=reasons.SYSTEM_ACTOR,
        organization_id=None,
        reason_code=code,
    )
    return Offer(None, code)


def prepare(db: Session, runtime: Services, delivery: Delivery, transfer: Transfer) -> Offer:
    """The offer to push, or why not (the transfer is then cancelled by the hub)."""
    check = reading.evaluate(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        transfer=transfer,
        actor=reasons.SYSTEM_ACTOR,
        context="delivery",
    )
    if check.withheld is not None:
        code = check.code or "withheld"
        if code in (reasons.CONSENT_DENIED, reasons.REVIEW_REQUIRED):
            return _cancel(db, runtime, transfer, "block", code)
        return Offer(None, code)  # withdrawn (the check cancelled it), or erased
    released = check.payload()
    package = OfferPackage(
        delivery_id=delivery.id,
        attempt=delivery.attempts,
        transfer_id=transfer.id,
        sender=_org(db.get_one(Organization, transfer.from_organization_id)),
        recipient=_org(db.get_one(Organization, transfer.to_organization_id)),
        within_hierarchy=transfer.within_hierarchy,
        status=transfer.status,
        offered_at=transfer.updated_at,
        case=released["case"],
        plan=released["plan"],
    )
    return Offer(package, None, check.decision_id, check.consent_ids, check.legal_basis)
