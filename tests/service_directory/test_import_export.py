"""`hub services export` and `import`: HSDS JSON and CSV, round trip, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.runtime import Runtime
from hub.service_directory.models import Service
from hub.settings import Settings
from tests.service_directory.conftest import World
from tests.support.cli import run_hub

FULL = {
    "service_type": "psychosocial_support",
    "name": "PSS women Arlit",
    "description": "Group sessions; safe space",
    "areas": [{"path": "NE/NE-AG/NE-AG-ARL", "name": "Arlit"}, {"path": "NE/NE-AG/NE-AG-IFR"}],
    "location": {"latitude": 18.7369, "longitude": 7.3853},
    "focal_point": "PSS focal point",
    "hours": "Mon-Thu 08:00-16:00",
    "eligibility": {
        "age_min": 12,
        "age_max": 60,
        "sexes": ["female"],
        "legal_statuses": ["refugee"],
    },
    "languages": ["fr", "ha"],
    "capacity": "limited",
    "last_verified_on": "2026-11-20",
}


def _services(world: World) -> list[dict[str, Any]]:
    items = world.api.get("/v1/services?limit=200", headers=world.reader.headers).json()["items"]
    kept = [
        {k: v for k, v in item.items() if k not in ("created_at", "updated_at")} for item in items
    ]
    return sorted(kept, key=lambda s: s["name"])


def _count(runtime: Runtime) -> int:
    with runtime.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(Service)) or 0)


@pytest.mark.parametrize("suffix", ["json", "csv"])
def test_round_trip(
    suffix: str, world: World, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    world.add(world.ngo, **FULL)
    world.add(world.other, service_type="shelter", name="Shelter Niamey")
    before = _services(world)
    assert before[0]["eligibility"]["legal_statuses"] == ["refugee"]
    out = tmp_path / f"directory.{suffix}"
    exported = run_hub(settings, "services", "export", str(out), "--json")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout) == {"exported": 2, "file": str(out), "format": suffix}
    if suffix == "json":
        doc = json.loads(out.read_text())
        assert doc["hsds_version"] == "3.0"
        pss = next(s for s in doc["services"] if s["name"] == "PSS women Arlit")
        assert pss["minimum_age"] == 12 and pss["assured_date"] == "2026-11-20"
        assert pss["organization"]["name"] == "Tadamoun Agadez"
        assert {"code": "ha"} in pss["languages"]
    # removed from the hub, then imported back with their ids: the same directory
    for item in before:
        path = f"/v1/services/{item['id']}"
        assert world.api.delete(path, headers=world.admin.headers).status_code == 204
    assert _count(runtime) == 0
    imported = run_hub(settings, "services", "import", str(out), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout) == {"added": 2, "updated": 0}
    assert _services(world) == before
    # a second import updates in place
    again = run_hub(settings, "services", "import", str(out), "--json")
    assert json.loads(again.stdout) == {"added": 0, "updated": 2}
    assert _services(world) == before


def test_a_refused_record_imports_nothing(
    world: World, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    good = {
        "name": "Legal aid",
        "organization": {"name": "Tadamoun Agadez"},
        "attributes": [
            {"taxonomy_term": {"taxonomy": "referral-hub:service_type", "code": "legal_assistance"}}
        ],
        "service_areas": [{"extent": "NE/NE-TA", "extent_type": "referral-hub:area_path"}],
    }
    unknown_org = dict(good, organization={"name": "Nobody"})
    bad_type = dict(
        good,
        attributes=[{"taxonomy_term": {"taxonomy": "referral-hub:service_type", "code": "spa"}}],
    )
    file = tmp_path / "in.json"
    file.write_text(json.dumps({"services": [good, unknown_org, bad_type]}))
    result = run_hub(settings, "services", "import", str(file))
    assert result.returncode == 1
    assert "record 2: unknown organisation" in result.stderr
    assert "record 3: Unknown vocabulary value" in result.stderr
    assert _count(runtime) == 0
    file.write_text(json.dumps({"services": [good]}))
    assert run_hub(settings, "services", "import", str(file)).returncode == 0
    assert [s["name"] for s in _services(world)] == ["Legal aid"]
    assert world.search("area=NE-TA") == ["Legal aid"]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    refused = run_hub(settings, "services", "import", str(broken))
    assert refused.returncode == 1 and "not a directory in json" in refused.stderr
