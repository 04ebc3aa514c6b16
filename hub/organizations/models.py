"""Organisations (the tenants) and the data sharing agreements between them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    # IOM offices form a hierarchy: a sub-office points at its country office.
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    # service types (policy vocabulary) the organisation offers, for the directory
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataSharingAgreement(Base):
    """Organisation-level permission for data to flow from one organisation to another."""

    __tablename__ = "data_sharing_agreements"
    __table_args__ = (Index("ix_agreements_pair", "from_organization_id", "to_organization_id"),)

    id: Mapped[str] = id_column()
    from_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    to_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    purposes: Mapped[list[str]] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
