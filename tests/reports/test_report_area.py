"""The report's `area`: the area of the service the referral is for, at the policy's level of
the directory's code path, else the recipient's country — counted by hand on twelve referrals
(codes only: the query reads the referral, the service's area paths and the organisation)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from hub.clock import utcnow
from hub.organizations.models import Organization
from hub.referrals.models import Referral
from hub.reports import service as reports
from hub.reports.schemas import Dimension
from hub.service_directory.models import Service, ServiceArea
from tests.support.referral_world import World

# service → its area paths; referrals 1-5 name A, 6-7 B, 8 C, 9-12 none
AREAS = {
    "A": ["NE/NE-AG/NE-AG-ARL/"],
    "B": ["NE/NE-TA/", "ML/ML-GA/"],  # two countries: the first code in order (ML)
    "C": ["NE/"],  # above level 2: its deepest code
}
NAMED = ["A"] * 5 + ["B"] * 2 + ["C"] + [None] * 4


@pytest.fixture
def made(world: World) -> list[str]:
    ids = [world.sent() for _ in NAMED]
    services = {}
    with world.runtime.sessions.begin() as db:
        for name, paths in AREAS.items():
            service = Service(
                organization_id=world.recipient.organization_id,
                service_type="psychosocial_support",
                name=f"Service {name}",
            )
            service.areas = [ServiceArea(path=p, code=p.rstrip("/").split("/")[-1]) for p in paths]
            db.add(service)
            db.flush()
            services[name] = service.id
        for referral_id, name in zip(ids, NAMED, strict=True):
            db.execute(
                update(Referral)
                .where(Referral.id == referral_id)
                .values(service_id=services[name] if name else None)
            )
        db.execute(
            update(Organization)
            .where(Organization.id == world.recipient.organization_id)
            .values(country="BF")
        )
    return ids


def _counts(world: World, dims: list[Dimension], level: int) -> dict[tuple[str, ...], int]:
    now = utcnow()
    with world.runtime.sessions() as db:
        return reports.counts(
            db,
            dims,
            world.sender.organization_id,
            now - timedelta(days=1),
            now + timedelta(days=1),
            area_level=level,
        )


def test_the_area_is_the_services_at_the_policys_level(world: World, made: list[str]) -> None:
    assert _counts(world, [Dimension.area], 1) == {("NE",): 6, ("ML",): 2, ("BF",): 4}
    assert _counts(world, [Dimension.area], 2) == {
        ("NE-AG",): 5,
        ("ML-GA",): 2,
        ("NE",): 1,
        ("BF",): 4,
    }
    # beside another dimension, in its place
    assert _counts(world, [Dimension.urgency, Dimension.area, Dimension.status], 1) == {
        ("normal", "NE", "sent"): 6,
        ("normal", "ML", "sent"): 2,
        ("normal", "BF", "sent"): 4,
    }


def test_through_the_api_with_small_cells_hidden(world: World, made: list[str]) -> None:
    today = utcnow().date()
    response = world.api.get(
        "/v1/reports/referrals",
        params={"from": today.isoformat(), "to": today.isoformat(), "group_by": "area"},
        headers=world.sender.headers,
    )
    assert response.status_code == 200, response.text
    rows: dict[str, Any] = {r["values"]["area"]: r["count"] for r in response.json()["rows"]}
    assert rows == {"BF": "<5", "ML": "<5", "NE": 6}


def test_area_at() -> None:
    assert reports.area_at("NE/NE-AG/NE-AG-ARL/", 1) == "NE"
    assert reports.area_at("NE/NE-AG/NE-AG-ARL/", 3) == "NE-AG-ARL"
    assert reports.area_at("NE/", 2) == "NE"
