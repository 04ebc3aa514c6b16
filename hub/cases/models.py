"""Cases and their personal data, held encrypted per data category."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("owner_organization_id", "external_ref"),)

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


class CaseData(Base):
    """One data category of one case; the ciphertext is bound to (case, category)."""

    __tablename__ = "case_data"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
