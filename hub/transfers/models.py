"""Case transfers: responsibility for a case moves to another organisation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class Transfer(Base):
    __tablename__ = "transfers"
    __table_args__ = (
        Index("ix_transfers_sender", "from_organization_id", "created_at"),
        Index("ix_transfers_recipient", "to_organization_id", "created_at"),
        # the deadline job reads only offers still waiting, by due time
        Index("ix_transfers_status_accept_due", "status", "accept_by"),
    )

    id: Mapped[str] = id_column()
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    to_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    # within one IOM hierarchy no consent is needed (one controller); recorded either way
    within_hierarchy: Mapped[bool]
    # the transfer plan (reasons, open needs, risks, handover contact): sealed with the case key
    plan_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    consent_ids: Mapped[list[str]] = mapped_column(JSON)
    # what the transfer rests on outside the hierarchy: `consent`, or a basis of the policy's
    # `legal_bases:` with the requester's written justification (sealed with the case's data key)
    legal_basis: Mapped[str] = mapped_column(
        String(40), default="consent", server_default="consent"
    )
    basis_justification_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    decision_id: Mapped[str | None] = mapped_column(
        ForeignKey("gate_decisions.id", ondelete="RESTRICT")
    )
    review_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(64))
    # the offer's acceptance deadline (`hub.transfers.deadlines`) and its markers
    accept_by: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    overdue_since: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
