"""Requests held for a consent officer (four eyes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_org_status", "requesting_organization_id", "status"),)

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(16))  # referral | transfer
    object_id: Mapped[str] = mapped_column(String(32), index=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    requesting_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    # who asked (made the request, or resubmitted it after it was sent back)
    requested_by: Mapped[str] = mapped_column(String(200))
    # who made the referral or transfer (four eyes: neither they nor the requester decide)
    made_by: Mapped[str | None] = mapped_column(String(200))
    decision_id: Mapped[str] = mapped_column(ForeignKey("gate_decisions.id", ondelete="RESTRICT"))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # pending | approved | denied | returned (sent back to the requester for correction) |
    # withdrawn (closed undecided: its request left review another way)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    # the officer's justification: free text that may name the person, sealed with the case's
    # data key (`hub.reviews.service.seal_justification`); the clear column only holds one
    # written before they were sealed (migration 0009), read while it is there
    justification: Mapped[str | None] = mapped_column(Text)
    justification_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    # what the officer needs to order the queue, copied from the request when it is held
    urgency: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    # the subject's age band when the request was held (`under_6`, `6_to_14`, `15_to_17`,
    # `adult`, `unknown`: cut at the policy's child ages, `hub.policy.rules.age_band`)
    age_band: Mapped[str | None] = mapped_column(String(24))
    # the requester's note to the recipient as it stood when the request was held, sealed with
    # the case's data key (erasing the case erases it)
    note_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    # a request on a legal basis other than consent (`hub.policy.legal_bases`): how many
    # officers must approve it, the requester's justification as held (sealed), and the first
    # approval while it waits for the next officer (each officer's justification sealed)
    legal_basis: Mapped[str] = mapped_column(
        String(40), default="consent", server_default="consent"
    )
    officers_required: Mapped[int] = mapped_column(default=1, server_default="1")
    basis_justification_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    first_approved_by: Mapped[str | None] = mapped_column(String(200))
    first_approved_at: Mapped[datetime | None]
    first_justification_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    # the time limit by urgency (policy `reviews:`), and the steps the scheduler took
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None]
    overdue_since: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    # the office above the requesting one whose officers the review was escalated to
    escalated_to_organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
