"""Consent versions and withdrawals written as ORM rows, for tests of what reads them (the gate).

The registry's own service validates requests; these builders only need valid rows, so any
scope can be set up, including ones the API would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hub.clock import utcnow
from hub.consent.models import Consent, ConsentWithdrawal
from hub.db.base import new_id


def add_consent(
    db: Session,
    case_id: str,
    *,
    purposes: Sequence[str] = ("psychosocial_support",),
    categories: Sequence[str] = ("identity", "contact"),
    organizations: Sequence[str] = (),
    kinds: Sequence[str] = ("ngo",),
    excluded_organizations: Sequence[str] = (),
    excluded_kinds: Sequence[str] = (),
    given_by: str = "subject",
    child_assent: bool | None = None,
    method: str = "written",
    witness: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    given_at: datetime | None = None,
    supersedes: Consent | None = None,
) -> Consent:
    """A consent version; with `supersedes`, the next version of that one's series."""
    now = utcnow()
    consent = Consent(
        id=new_id(),
        case_id=case_id,
        series_id=supersedes.series_id if supersedes else new_id(),
        version=supersedes.version + 1 if supersedes else 1,
        supersedes_id=supersedes.id if supersedes else None,
        given_by=given_by,
        caregiver_ciphertext=None,
        child_assent=child_assent,
        method=method,
        witness=witness,
        language="fr",
        interpreter=None,
        purposes=list(purposes),
        recipient_organizations=list(organizations),
        recipient_kinds=list(kinds),
        categories=list(categories),
        excluded_organizations=list(excluded_organizations),
        excluded_kinds=list(excluded_kinds),
        valid_from=valid_from or now - timedelta(minutes=1),
        valid_until=valid_until,
        given_at=given_at or valid_from or now - timedelta(minutes=1),
        recorded_by="user:caseworker",
        recorded_at=now,
    )
    db.add(consent)
    # flushed so a later version in the same transaction can reference this one
    db.flush()
    return consent


def withdraw(db: Session, consent: Consent, *, at: datetime | None = None) -> None:
    db.add(
        ConsentWithdrawal(
            series_id=consent.series_id,
            consent_id=consent.id,
            case_id=consent.case_id,
            withdrawn_at=at or utcnow(),
            method="verbal",
            reason_ciphertext=None,
            recorded_by="user:caseworker",
        )
    )
    db.flush()
