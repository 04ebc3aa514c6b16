"""Services of the directory and the administrative areas where each is offered.

An area is stored with its code path from the top of the hierarchy, slash-separated and ending
with a slash (`NE/NE-AG/NE-AG-ARL/`), so a search for an area matches its sub-areas with an
indexed prefix query (`path LIKE 'NE/NE-AG/%'`). Languages and sexes are also kept as
space-delimited keys (` fr ha `) so the filters are plain string matches on either database.

A search by area reads `service_coverage`: one row for each area a service is found under (the
areas it names and every area above them), with the service's type and creation date, so an
area's services come newest first from one index, whatever the area's size. It is derived from
the services and their areas, and kept in step with them by the mapper events at the end of
this module, whatever writes them (the service functions, the HSDS import, a test's own
objects); a bulk load that bypasses the ORM calls `rebuild_coverage`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    delete,
    event,
    insert,
    inspect,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

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


def covered_paths(paths: Any) -> list[str]:
    """Every area the named areas are found under, each once: `NE/NE-AG/NE-AG-ARL/` is under
    `NE/`, `NE/NE-AG/` and itself."""
    covered: set[str] = set()
    for path in paths:
        segments = str(path).rstrip("/").split("/")
        covered.update("/".join(segments[: n + 1]) + "/" for n in range(len(segments)))
    return sorted(covered)


class ServiceCoverage(Base):
    """An area a service is found under: one it names, or an area above one it names.

    A search for an area is `path = <the area's path>` here (the same services as a prefix
    match on `service_areas.path`), newest first from the index (`hub.service_directory.
    service.find`)."""

    __tablename__ = "service_coverage"
    __table_args__ = (
        Index("ix_service_coverage_newest", "path", "created_at", "service_id"),
        Index("ix_service_coverage_type", "path", "service_type", "created_at", "service_id"),
    )

    service_id: Mapped[str] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(400), primary_key=True)
    # the service's own, copied: kept equal by the events below
    service_type: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column()


def _cover(connection: Connection, service: Service) -> None:
    connection.execute(delete(ServiceCoverage).where(ServiceCoverage.service_id == service.id))
    # the collection as the session holds it (never loaded in the middle of the flush: a new
    # service whose areas were never set has none)
    areas: list[ServiceArea] = service.__dict__.get("areas") or []
    rows = [
        {
            "service_id": service.id,
            "path": path,
            "service_type": service.service_type,
            "created_at": service.created_at,
        }
        for path in covered_paths(area.path for area in areas)
    ]
    if rows:
        connection.execute(insert(ServiceCoverage), rows)


@event.listens_for(Service, "after_insert")
def _service_inserted(_mapper: Mapper[Service], connection: Connection, service: Service) -> None:
    _cover(connection, service)


@event.listens_for(Service, "after_update")
def _service_updated(_mapper: Mapper[Service], connection: Connection, service: Service) -> None:
    state = inspect(service)
    if state.attrs.areas.history.has_changes():
        _cover(connection, service)
        return
    copied = {
        name: getattr(service, name)
        for name in ("service_type", "created_at")
        if state.attrs[name].history.has_changes()
    }
    if copied:
        connection.execute(
            update(ServiceCoverage).where(ServiceCoverage.service_id == service.id).values(copied)
        )


@event.listens_for(Service, "before_delete")
def _service_deleted(_mapper: Mapper[Service], connection: Connection, service: Service) -> None:
    connection.execute(delete(ServiceCoverage).where(ServiceCoverage.service_id == service.id))


def rebuild_coverage(connection: Connection) -> None:
    """`service_coverage` made again from `services` and `service_areas` in SQL (a bulk load,
    the migration's backfill): each area path cut at every slash."""
    position = (
        "strpos(rest, '/')" if connection.dialect.name == "postgresql" else "instr(rest, '/')"
    )
    connection.execute(delete(ServiceCoverage))
    connection.execute(
        text(
            """
            WITH RECURSIVE cut(service_id, path, rest) AS (
                SELECT service_id, CAST('' AS TEXT), CAST(path AS TEXT) FROM service_areas
                UNION ALL
                SELECT service_id, path || substr(rest, 1, POSITION),
                       substr(rest, POSITION + 1)
                FROM cut WHERE POSITION > 0
            )
            INSERT INTO service_coverage (service_id, path, service_type, created_at)
            SELECT DISTINCT cut.service_id, cut.path, s.service_type, s.created_at
            FROM cut JOIN services s ON s.id = cut.service_id
            WHERE cut.path <> ''
            """.replace("POSITION", position)
        )
    )
