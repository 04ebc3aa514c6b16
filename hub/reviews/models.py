"""Requests held for a consent officer (four eyes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
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
    requested_by: Mapped[str] = mapped_column(String(200))
    decision_id: Mapped[str] = mapped_column(ForeignKey("gate_decisions.id", ondelete="RESTRICT"))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # approved | denied
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    justification: Mapped[str | None] = mapped_column(Text)
