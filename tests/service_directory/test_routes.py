"""GET /v1/services with its filters, a service's page, and who may edit what."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.runtime import Runtime
from tests.service_directory.conftest import World

ARLIT = {"path": "NE/NE-AG/NE-AG-ARL", "name": "Arlit"}
AGADEZ_TOWN = {"path": "NE/NE-AG/NE-AG-AGZ", "name": "Agadez"}
NIAMEY = {"path": "NE/NE-NI", "name": "Niamey"}


def _directory(world: World) -> None:
    world.add(
        world.ngo,
        name="PSS women Arlit",
        areas=[ARLIT],
        eligibility={"age_min": 12, "sexes": ["female"]},
        languages=["fr", "ha"],
    )
    world.add(
        world.ngo,
        name="Shelter Agadez",
        service_type="shelter",
        areas=[AGADEZ_TOWN],
        eligibility={"age_min": 18},
        languages=["fr"],
        capacity="full",
    )
    world.add(
        world.other,
        name="Child protection Niamey",
        service_type="child_protection",
        areas=[NIAMEY],
        eligibility={"age_max": 17},
        languages=["fr", "en"],
    )


def test_any_partner_reads_and_filters_the_directory(world: World) -> None:
    _directory(world)
    every = ["Child protection Niamey", "PSS women Arlit", "Shelter Agadez"]
    assert world.search() == every
    # areas match their sub-areas, by code or by code path; the top covers all
    assert world.search("area=NE-AG") == ["PSS women Arlit", "Shelter Agadez"]
    assert world.search("area=NE/NE-AG") == ["PSS women Arlit", "Shelter Agadez"]
    assert world.search("area=NE-AG-ARL") == ["PSS women Arlit"]
    assert world.search("area=NE") == every
    assert world.search("area=ML") == []
    assert world.search("type=shelter") == ["Shelter Agadez"]
    assert world.search("age=10") == ["Child protection Niamey"]
    assert world.search("age=12") == ["Child protection Niamey", "PSS women Arlit"]
    assert world.search("age=30") == ["PSS women Arlit", "Shelter Agadez"]
    assert world.search("sex=male") == ["Child protection Niamey", "Shelter Agadez"]
    assert world.search("sex=female") == every
    assert world.search("language=ha") == ["PSS women Arlit"]
    assert world.search("language=en&area=NE") == ["Child protection Niamey"]
    assert world.search("capacity=full") == ["Shelter Agadez"]
    assert world.search("area=NE-AG&age=30&sex=female&language=fr") == [
        "PSS women Arlit",
        "Shelter Agadez",
    ]


def test_paging_and_reading_one(world: World) -> None:
    ids = [world.add(world.ngo, name=f"S{i}", areas=[ARLIT])["id"] for i in range(5)]
    seen: list[str] = []
    url = "/v1/services?limit=2&area=NE-AG"
    while url:
        page = world.api.get(url, headers=world.reader.headers).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        url = f"/v1/services?limit=2&area=NE-AG&cursor={page['next']}" if page["next"] else ""
    assert sorted(seen) == sorted(ids)
    one = world.api.get(f"/v1/services/{ids[0]}", headers=world.reader.headers).json()
    assert one["organization_name"] == "Tadamoun Agadez"
    assert one["areas"] == [{"path": "NE/NE-AG/NE-AG-ARL", "code": "NE-AG-ARL", "name": "Arlit"}]
    missing = world.api.get("/v1/services/nope", headers=world.reader.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_bad_filters_are_problems(world: World) -> None:
    for query, code in [
        ("type=haircut", "unknown_value"),
        ("age=-1", "validation_error"),
        ("sex=robot", "validation_error"),
        ("area=NE AG", "validation_error"),
        ("cursor=%%%", "invalid_cursor"),
    ]:
        response = world.api.get(f"/v1/services?{query}", headers=world.reader.headers)
        assert response.status_code in (400, 422), (query, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code, query


def test_an_organisation_edits_its_own_services_only(world: World, runtime: Runtime) -> None:
    mine = world.add(world.ngo, name="PSS", areas=[ARLIT])
    path = f"/v1/services/{mine['id']}"
    # another organisation, though it holds services:write: 404, for change and removal
    assert (
        world.api.patch(path, json={"capacity": "full"}, headers=world.other.headers).status_code
        == 404
    )
    assert world.api.delete(path, headers=world.other.headers).status_code == 404
    # a partner without services:write: 403
    refused = world.api.patch(path, json={"capacity": "full"}, headers=world.reader.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    # nor can it add a service in another organisation's name
    foreign = world.api.post(
        "/v1/services",
        json={"service_type": "shelter", "name": "x", "organization_id": world.ngo.organization_id},
        headers=world.other.headers,
    )
    assert foreign.status_code == 404
    # the owner changes it: the fields given, the others kept
    changed = world.api.patch(
        path,
        json={"capacity": "limited", "last_verified_on": "2026-11-28", "languages": ["fr"]},
        headers=world.ngo.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["capacity"] == "limited"
    assert changed.json()["areas"][0]["code"] == "NE-AG-ARL"
    assert world.search("language=fr") == ["PSS"]
    nulled = world.api.patch(path, json={"name": None}, headers=world.ngo.headers)
    assert nulled.status_code == 422
    assert world.api.delete(path, headers=world.ngo.headers).status_code == 204
    assert world.api.get(path, headers=world.reader.headers).status_code == 404
    with runtime.sessions() as db:
        actions = list(
            db.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_id == mine["id"])
                .order_by(AuditEntry.seq)
            )
        )
    assert actions == ["service.created", "service.updated", "service.deleted"]


def test_administrators_edit_any_organisations_services(world: World) -> None:
    unnamed = world.api.post(
        "/v1/services", json={"service_type": "shelter", "name": "x"}, headers=world.admin.headers
    )
    assert unnamed.status_code == 422 and unnamed.json()["code"] == "organization_required"
    made = world.add(world.admin, name="Shelter", organization_id=world.ngo.organization_id)
    assert made["organization_id"] == world.ngo.organization_id
    # the organisation's own list of service types gains the type
    org = world.api.get(
        f"/v1/organizations/{world.ngo.organization_id}", headers=world.reader.headers
    ).json()
    assert "psychosocial_support" in org["services"]
    path = f"/v1/services/{made['id']}"
    assert (
        world.api.patch(path, json={"capacity": "full"}, headers=world.admin.headers).json()[
            "capacity"
        ]
        == "full"
    )
    # the hub's operator offers no services
    operator = world.api.post(
        "/v1/services",
        json={
            "service_type": "shelter",
            "name": "x",
            "organization_id": world.admin.organization_id,
        },
        headers=world.admin.headers,
    )
    assert operator.status_code == 404
    assert world.api.delete(path, headers=world.admin.headers).status_code == 204


def test_bad_services_are_refused(world: World, api: TestClient) -> None:
    for body, code in [
        ({"service_type": "haircut", "name": "x"}, "unknown_value"),
        (
            {"service_type": "shelter", "name": "x", "areas": [{"path": "NE//x"}]},
            "validation_error",
        ),
        ({"service_type": "shelter", "name": "x", "languages": ["French!"]}, "validation_error"),
        (
            {"service_type": "shelter", "name": "x", "eligibility": {"age_min": 18, "age_max": 5}},
            "validation_error",
        ),
        ({"service_type": "shelter", "name": "x", "capacity": "some"}, "validation_error"),
    ]:
        response = api.post("/v1/services", json=body, headers=world.ngo.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] == code, body
