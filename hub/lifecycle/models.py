"""The history of referrals and transfers: one row per move."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class LifecycleEvent(Base):
    """A move of a referral or a transfer: who, when, from which status to which, and why."""

    __tablename__ = "lifecycle_events"
    __table_args__ = (Index("ix_lifecycle_events_object", "object_type", "object_id", "at"),)

    id: Mapped[str] = id_column()
    object_type: Mapped[str] = mapped_column(String(16))  # referral | transfer | transfer_request
    object_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[str | None] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason_code: Mapped[str | None] = mapped_column(String(64))
    # free text (decline reason, outcome): may name people, so sealed with the case key
    text_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
