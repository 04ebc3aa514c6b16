"""Deliveries: each referral or transfer offer handed to its recipient's channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class Delivery(Base):
    """One referral (or one transfer offer) handed to its recipient's channel, across all its
    attempts.

    The id is the delivery id partners see (a header, a FHIR identifier): it stays the same
    across retries and redeliveries, so a partner that received it twice can drop the second.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_channel", "status", "channel"),
        Index("ix_deliveries_sender_status", "sender_organization_id", "status"),
        CheckConstraint(
            "(referral_id IS NULL) <> (transfer_id IS NULL)", name="one_referral_or_transfer"
        ),
    )

    id: Mapped[str] = id_column()
    referral_id: Mapped[str | None] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    transfer_id: Mapped[str | None] = mapped_column(
        ForeignKey("transfers.id", ondelete="CASCADE"), index=True
    )
    sender_organization_id: Mapped[str] = mapped_column(String(32))
    recipient_organization_id: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))  # of the latest attempt
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | dead | stopped
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))  # a code, never a body
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]
    # fhir: the partner's Task (`Task/<id>`) and the status last read from it
    remote_ref: Mapped[str | None] = mapped_column(String(200))
    remote_status: Mapped[str | None] = mapped_column(String(32))
    polled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
