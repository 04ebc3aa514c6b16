"""The recipient's side of data life: its erasure confirmed, and what is overdue.

A recipient confirms per referral (`POST /v1/referrals/{id}/erasure-confirmation`): the
referral's id is what every delivery names (the API's read, the webhook envelope, the FHIR
Task's identifier), while a disclosure's id is the hub's own, written after the push. The
confirmation covers every disclosure of the referral to the caller's organisation made until
then; confirming again covers the ones made since (a read after the first confirmation is a new
disclosure, with its own erase-by date), and changes nothing when there are none. A referral
the caller received nothing under is a 404, like another organisation's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from hub.api.problems import NotFound
from hub.audit.service import record as audit
from hub.clock import utcnow
from hub.disclosures.models import Disclosure
from hub.disclosures.schemas import ErasureConfirmationRead


def is_overdue(row: Disclosure, now: datetime) -> bool:
    """Past its erase-by date without the recipient's confirmation."""
    return row.erase_by is not None and row.erasure_confirmed_at is None and row.erase_by < now


def waiting() -> ColumnElement[bool]:
    """Disclosures with an erase-by date and no confirmation yet, as a query condition."""
    return and_(Disclosure.erase_by.is_not(None), Disclosure.erasure_confirmed_at.is_(None))


def confirm(
    *, db: Session, referral_id: str, organization_id: str, actor: str
) -> ErasureConfirmationRead:
    """Record that `organization_id` erased what it received under the referral."""
    rows = list(
        db.scalars(
            select(Disclosure)
            .where(
                Disclosure.referral_id == referral_id,
                Disclosure.recipient_organization_id == organization_id,
            )
            .order_by(Disclosure.at, Disclosure.id)
            .with_for_update()
        )
    )
    if not rows:
        raise NotFound("referral")
    now = utcnow()
    fresh = [row for row in rows if row.erasure_confirmed_at is None]
    for row in fresh:
        row.erasure_confirmed_at = now
        row.erasure_confirmed_by = actor
    if fresh:
        audit(
            db,
            actor=actor,
            action="disclosure.erasure_confirmed",
            object_type="referral",
            object_id=referral_id,
            details={
                "organization_id": organization_id,
                "disclosure_ids": [row.id for row in fresh],
                "overdue": [row.id for row in fresh if row.erase_by and row.erase_by < now],
            },
        )
    latest = max(rows, key=lambda row: row.erasure_confirmed_at or now)
    dates = [row.erase_by for row in rows if row.erase_by is not None]
    return ErasureConfirmationRead(
        referral_id=referral_id,
        confirmed_at=latest.erasure_confirmed_at or now,
        confirmed_by=latest.erasure_confirmed_by or actor,
        disclosure_ids=[row.id for row in rows],
        erase_by=min(dates) if dates else None,
    )
