"""Cases and their personal data, held encrypted per data category."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, synonym

from hub.clock import utcnow
from hub.db.base import Base, id_column


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("owner_organization_id", "external_ref"),
        Index("ix_cases_owner_organization_id_status", "owner_organization_id", "status"),
    )

    id: Mapped[str] = id_column()
    owner_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    external_ref: Mapped[str] = mapped_column(String(100))
    # birth date and sex, encrypted like every category (see hub.crypto.envelope)
    subject_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set when the case's data key was destroyed: the row stays for the audit trail.
    erased_at: Mapped[datetime | None]
    # the case's own life (`hub.closure.lifecycle`): open, closed, open again; a closed case
    # takes no new referral or transfer (`hub.cases.service.open_for_requests`)
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    # why it is where it is: the closure reason code (the policy's `closure_reasons`)
    status_reason: Mapped[str | None] = mapped_column(String(40))
    # a case moves by the lifecycle machinery as referrals and transfers do: it is its own case
    case_id: Mapped[str] = synonym("id")


class CaseData(Base):
    """One data category of one case; the ciphertext is bound to (case, category)."""

    __tablename__ = "case_data"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
