"""Services of the directory and the administrative areas where each is offered.

An area is stored with its code path from the top of the hierarchy, slash-separated and ending
with a slash (`NE/NE-AG/NE-AG-ARL/`), so a search for an area matches its sub-areas with an
indexed prefix query (`path LIKE 'NE/NE-AG/%'`). Languages and sexes are also kept as
space-delimited keys (` fr ha `) so the filters are plain string matches on either database.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.clock import utcnow
from hub.db.base import Base, id_column

CAPACITIES = ("open", "limited", "full")


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (
        Index("ix_services_type_created", "service_type", "created_at", "id"),
        # the directory newest first, whatever the filters (`find`)
        Index("ix_services_created", "created_at", "id"),
    )

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    service_type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # a role or a shared contact ("Psychosocial focal point, +227 ..."), never a person's own data
    focal_point: Mapped[str | None] = mapped_column(String(200))
    hours: Mapped[str | None] = mapped_column(String(200))
    age_min: Mapped[int | None] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)
    # empty: every sex, every legal status
    sexes: Mapped[list[str]] = mapped_column(JSON, default=list)
    legal_statuses: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    sexes_key: Mapped[str] = mapped_column(String(100), default=" ")
    languages_key: Mapped[str] = mapped_column(String(400), default=" ")
    capacity: Mapped[str] = mapped_column(String(16), default="open")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    last_verified_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    areas: Mapped[list[ServiceArea]] = relationship(
        back_populates="service",
        cascade="all, delete-orphan",
        order_by="ServiceArea.path",
        lazy="selectin",
    )


class ServiceArea(Base):
    """One administrative area a service is offered in."""

    __tablename__ = "service_areas"
    __table_args__ = (
        Index("ix_service_areas_code", "code"),
        # prefix searches (`LIKE 'NE/NE-AG/%'`) use it on PostgreSQL whatever the collation;
        # with the service's id, an area's services are read from the index alone
        Index(
            "ix_service_areas_path",
            "path",
            "service_id",
            postgresql_ops={"path": "varchar_pattern_ops"},
        ),
    )

    service_id: Mapped[str] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    # `NE/NE-AG/NE-AG-ARL/`: the codes from the top, each followed by a slash
    path: Mapped[str] = mapped_column(String(400), primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))

    service: Mapped[Service] = relationship(back_populates="areas")
