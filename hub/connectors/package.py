"""What a push connector sends: one referral as its recipient may see it, and nothing more.

The delivery service builds a package after asking the consent gate again, so `payload` holds
exactly the categories permitted at this instant (the intersection of the referral's sealed
snapshot and the gate's answer). Connectors shape it (JSON, FHIR) but never add to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class OrganizationRef:
    id: str
    name: str
    kind: str


@dataclass(frozen=True)
class ConsentRef:
    """A consent version the disclosure rests on (identifiers and scope, no personal data)."""

    id: str
    given_by: str  # subject | caregiver
    method: str
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    recorded_at: datetime


@dataclass(frozen=True)
class Subject:
    """Birth date and sex of the case's subject: sent only with the `identity` category."""

    birth_date: str | None  # ISO date
    sex: str | None  # female | male | other | unknown


@dataclass(frozen=True)
class DeliveryPackage:
    delivery_id: str  # stable across attempts: partners drop duplicates by it
    attempt: int
    referral_id: str
    case_id: str
    sender: OrganizationRef
    recipient: OrganizationRef
    service_type: str
    purpose: str
    urgency: str
    status: str  # the referral's status when the package was built
    sent_at: datetime
    acknowledge_by: datetime | None
    categories: tuple[str, ...]  # the categories in `payload`, sorted
    consents: tuple[ConsentRef, ...]
    payload: dict[str, Any] = field(default_factory=dict)  # category -> data
    subject: Subject | None = None
    note: str | None = None
    # data life: by when the recipient must have erased what this delivery carries (the
    # shortest period of its consents, counted from the delivery's start: the same on every
    # attempt); None: no limit
    erase_by: datetime | None = None

    @property
    def consent_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.consents)


@dataclass(frozen=True)
class OfferPackage:
    """A case transfer offered to its recipient: the plan and the minimal summary the
    recipient may see before it accepts (`hub.transfers.service`), never the case file, which
    it receives through the API once it has accepted."""

    delivery_id: str
    attempt: int
    transfer_id: str
    sender: OrganizationRef
    recipient: OrganizationRef
    within_hierarchy: bool
    status: str
    offered_at: datetime
    case: dict[str, Any]  # the brief: case id, the sender's reference, age band, sex
    plan: dict[str, Any]  # reason, open needs, risks, handover contact
