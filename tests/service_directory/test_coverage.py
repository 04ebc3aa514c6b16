"""`service_coverage` (every area a service is found under, with its type and creation date)
stays equal to what the services and their areas say, on every write path, after the
migration's backfill and after a bulk rebuild."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db import migrate
from hub.organizations.models import Organization
from hub.runtime import Runtime
from hub.service_directory import hsds
from hub.service_directory import service as directory
from hub.service_directory.models import (
    Service,
    ServiceArea,
    ServiceCoverage,
    covered_paths,
    rebuild_coverage,
)
from hub.service_directory.schemas import ServiceCreate, ServiceUpdate
from tests.service_directory.conftest import World

Row = tuple[str, str, str, datetime]


def stored(db: Session) -> set[Row]:
    return {
        (c.service_id, c.path, c.service_type, c.created_at)
        for c in db.scalars(select(ServiceCoverage))
    }


def expected(db: Session) -> set[Row]:
    """What the services and their areas say, worked out here without the hub's code."""
    areas: dict[str, list[str]] = {}
    for area in db.scalars(select(ServiceArea)):
        areas.setdefault(area.service_id, []).append(area.path)
    rows: set[Row] = set()
    for service in db.scalars(select(Service)):
        for path in areas.get(service.id, []):
            segments = path.rstrip("/").split("/")
            for n in range(1, len(segments) + 1):
                prefix = "/".join(segments[:n]) + "/"
                rows.add((service.id, prefix, service.service_type, service.created_at))
    return rows


def check(runtime: Runtime) -> set[Row]:
    with runtime.sessions() as db:
        now, wanted = stored(db), expected(db)
    assert now == wanted
    return now


def test_covered_paths() -> None:
    assert covered_paths(["NE/NE-AG/NE-AG-ARL/", "NE/NE-AG/NE-AG-AGZ/", "ML/"]) == [
        "ML/",
        "NE/",
        "NE/NE-AG/",
        "NE/NE-AG/NE-AG-AGZ/",
        "NE/NE-AG/NE-AG-ARL/",
    ]


def test_every_write_path_keeps_the_coverage(world: World, runtime: Runtime) -> None:
    arlit = {"path": "NE/NE-AG/NE-AG-ARL", "name": "Arlit"}
    niamey = {"path": "NE/NE-NI"}
    # create, through the API
    first = world.add(world.ngo, name="PSS Arlit", areas=[arlit, {"path": "NE/NE-AG/NE-AG-IFR"}])
    second = world.add(world.other, name="Shelter", service_type="shelter", areas=[niamey])
    nowhere = world.add(world.other, name="No area")
    rows = check(runtime)
    assert {(r[0], r[1]) for r in rows if r[0] == first["id"]} == {
        (first["id"], "NE/"),
        (first["id"], "NE/NE-AG/"),
        (first["id"], "NE/NE-AG/NE-AG-ARL/"),
        (first["id"], "NE/NE-AG/NE-AG-IFR/"),
    }
    assert not [r for r in rows if r[0] == nowhere["id"]]

    def patch(by: Any, service_id: str, body: dict[str, Any]) -> None:
        response = world.api.patch(f"/v1/services/{service_id}", json=body, headers=by.headers)
        assert response.status_code == 200, response.text

    # areas changed, then the type, then both, then something else only
    patch(world.ngo, first["id"], {"areas": [niamey, {"path": "ML/ML-KA"}]})
    rows = check(runtime)
    assert {r[1] for r in rows if r[0] == first["id"]} == {"NE/", "NE/NE-NI/", "ML/", "ML/ML-KA/"}
    patch(world.ngo, first["id"], {"service_type": "medical_care"})
    rows = check(runtime)
    assert {r[2] for r in rows if r[0] == first["id"]} == {"medical_care"}
    patch(world.other, second["id"], {"service_type": "legal_assistance", "areas": [arlit]})
    check(runtime)
    patch(world.other, second["id"], {"capacity": "full", "name": "Shelter (full)"})
    check(runtime)
    # an area taken away: every area gone
    patch(world.ngo, first["id"], {"areas": []})
    rows = check(runtime)
    assert not [r for r in rows if r[0] == first["id"]]
    # given areas again (the administrators)
    patch(world.admin, first["id"], {"areas": [arlit]})
    check(runtime)

    # the creation date moved (a correction, or a test's clock)
    with runtime.sessions.begin() as db:
        service = db.get_one(Service, second["id"])
        service.created_at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    rows = check(runtime)
    assert {r[3] for r in rows if r[0] == second["id"]} == {datetime(2025, 3, 1, 12, tzinfo=UTC)}

    # the areas' collection changed in place, through the ORM
    with runtime.sessions.begin() as db:
        service = db.get_one(Service, second["id"])
        service.areas.append(ServiceArea(path="BF/BF-CE/", code="BF-CE"))
    check(runtime)
    with runtime.sessions.begin() as db:
        service = db.get_one(Service, second["id"])
        service.areas.remove(next(a for a in service.areas if a.path.startswith("NE/")))
    rows = check(runtime)
    assert {r[1] for r in rows if r[0] == second["id"]} == {"BF/", "BF/BF-CE/"}

    # a service made by hand, as a test or the demo would
    with runtime.sessions.begin() as db:
        db.add(
            Service(
                id="handmade",
                organization_id=world.ngo.organization_id,
                service_type="education",
                name="Handmade",
                areas=[ServiceArea(path="TD/TD-LO/", code="TD-LO")],
            )
        )
    rows = check(runtime)
    assert {r[1] for r in rows if r[0] == "handmade"} == {"TD/", "TD/TD-LO/"}

    # delete
    response = world.api.delete(f"/v1/services/{first['id']}", headers=world.ngo.headers)
    assert response.status_code == 204
    with runtime.sessions.begin() as db:
        db.delete(db.get_one(Service, "handmade"))
    rows = check(runtime)
    assert not [r for r in rows if r[0] in (first["id"], "handmade")]
    assert [r for r in rows if r[0] == second["id"]]


def test_the_hsds_import_keeps_the_coverage(world: World, runtime: Runtime) -> None:
    existing = world.add(world.ngo, name="To update", areas=[{"path": "NE/NE-AG"}])
    with runtime.sessions() as db:
        service = db.get_one(Service, existing["id"])
        record = hsds.to_hsds(service, db.get_one(Organization, service.organization_id))
    area = {"name": None, "extent_type": hsds.AREA_PATH}
    typed = [hsds._attribute(hsds.TYPE, "education")]
    records = [
        # an update: another area and another type
        record | {"service_areas": [area | {"extent": "ML/ML-BA/ML-BA-1"}], "attributes": typed},
        # an addition
        {k: v for k, v in record.items() if k != "id"}
        | {"name": "Added", "service_areas": [area | {"extent": "BF/BF-HA"}]},
    ]
    with runtime.sessions.begin() as db:
        counts = hsds.import_records(db=db, policy=runtime.policy, actor="test", records=records)
    assert counts == {"added": 1, "updated": 1}
    rows = check(runtime)
    assert {(r[1], r[2]) for r in rows if r[0] == existing["id"]} == {
        ("ML/", "education"),
        ("ML/ML-BA/", "education"),
        ("ML/ML-BA/ML-BA-1/", "education"),
    }
    assert {r[1] for r in rows} == {"ML/", "ML/ML-BA/", "ML/ML-BA/ML-BA-1/", "BF/", "BF/BF-HA/"}


def _some_services(runtime: Runtime, world: World) -> None:
    with runtime.sessions.begin() as db:
        for n, paths in enumerate(
            [["NE/NE-AG/NE-AG-ARL", "NE/NE-AG/NE-AG-IFR"], ["NE/NE-NI"], [], ["ML"]]
        ):
            directory.create(
                db=db,
                policy=runtime.policy,
                actor="test",
                organization_id=world.ngo.organization_id,
                data=ServiceCreate(
                    service_type="shelter",
                    name=f"S{n}",
                    areas=[{"path": p} for p in paths],  # type: ignore[misc]
                ),
            )


def test_a_bulk_rebuild_gives_the_same_rows(world: World, runtime: Runtime) -> None:
    _some_services(runtime, world)
    before = check(runtime)
    assert len(before) == 4 + 2 + 1
    with runtime.engine.begin() as conn:
        conn.execute(ServiceCoverage.__table__.delete())
        rebuild_coverage(conn)
    assert check(runtime) == before


def test_the_migration_fills_the_coverage_and_goes_back(world: World, runtime: Runtime) -> None:
    _some_services(runtime, world)
    before = check(runtime)
    config = migrate.alembic_config()
    with runtime.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0022")
    with runtime.engine.connect() as conn:
        assert not runtime.engine.dialect.has_table(conn, "service_coverage")
    # a service written while the table is not there
    with runtime.engine.begin() as conn:
        conn.execute(
            Service.__table__.update()
            .where(Service.__table__.c.name == "S1")
            .values(service_type="education")
        )
    migrate.upgrade(runtime.engine)
    assert migrate.is_current(runtime.engine)
    after = check(runtime)
    assert after != before
    assert {r[2] for r in after if r[1] == "NE/NE-NI/"} == {"education"}


def test_an_update_of_the_type_alone_reaches_every_row(world: World, runtime: Runtime) -> None:
    _some_services(runtime, world)
    with runtime.sessions.begin() as db:
        service = db.scalars(select(Service).where(Service.name == "S0")).one()
        directory.update(
            db=db,
            policy=runtime.policy,
            actor="test",
            service=service,
            data=ServiceUpdate(service_type="education"),
        )
    rows = check(runtime)
    assert len([r for r in rows if r[2] == "education"]) == 4


def test_a_service_made_without_areas_has_no_coverage(world: World, runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        db.add(
            Service(
                id="bare",
                organization_id=world.ngo.organization_id,
                service_type="education",
                name="Bare",
            )
        )
    assert not [r for r in check(runtime) if r[0] == "bare"]
    with runtime.sessions.begin() as db:
        db.get_one(Service, "bare").areas = [ServiceArea(path="NE/", code="NE")]
    assert {r[1] for r in check(runtime) if r[0] == "bare"} == {"NE/"}
