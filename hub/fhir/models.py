"""What the facade keeps of its own: the identifiers a sender gave its FHIR request."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base


class SenderIdentifier(Base):
    """An identifier the sender put on the Task or the ServiceRequest it created a referral
    with (its own system and value): what its conditional creates (`If-None-Exist`) match.

    Not unique: FHIR lets a plain create reuse an identifier, and a conditional create that
    then finds several answers 412. Looked up by the sender, never by anyone else."""

    __tablename__ = "fhir_sender_identifiers"
    __table_args__ = (
        PrimaryKeyConstraint("referral_id", "resource_type", "system", "value"),
        Index(
            "ix_fhir_sender_identifiers_lookup",
            "organization_id",
            "resource_type",
            "system",
            "value",
        ),
    )

    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    organization_id: Mapped[str] = mapped_column(String(32))
    resource_type: Mapped[str] = mapped_column(String(32))  # Task | ServiceRequest
    system: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))
