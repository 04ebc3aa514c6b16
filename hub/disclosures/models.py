"""The accounting of disclosures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class Disclosure(Base):
    """One time personal data left the hub: who received which categories, under which consent.

    Each row is also an entry in the hash-chained audit log, which makes the accounting
    tamper-evident; this table is what the per-case report reads.
    """

    __tablename__ = "disclosures"
    __table_args__ = (Index("ix_disclosures_case", "case_id", "at"),)

    id: Mapped[str] = id_column()
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    recipient_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    categories: Mapped[list[str]] = mapped_column(JSON)
    consent_ids: Mapped[list[str]] = mapped_column(JSON)
    referral_id: Mapped[str | None] = mapped_column(String(32), index=True)
    transfer_id: Mapped[str | None] = mapped_column(String(32), index=True)
    decision_id: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))  # inbox | webhook | fhir | transfer
    # `consent`, or the legal basis of the policy's `legal_bases:` it rested on
    legal_basis: Mapped[str] = mapped_column(
        String(40), default="consent", server_default="consent"
    )
    payload_sha256: Mapped[str] = mapped_column(String(64))
    audit_seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # data life (`hub.consent.data_life`): the recipient erases what it received by then (the
    # earliest its consents allow; none: no limit), is reminded before, flagged overdue after,
    # and confirms the erasure (`hub.disclosures.erasure`)
    erase_by: Mapped[datetime | None] = mapped_column(index=True)
    erase_reminded_at: Mapped[datetime | None]
    erase_overdue_since: Mapped[datetime | None]
    erasure_confirmed_at: Mapped[datetime | None]
    erasure_confirmed_by: Mapped[str | None] = mapped_column(String(200))
