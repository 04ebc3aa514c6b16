"""GET /v1/referrals?scope=tree: an office also sees the referrals of the offices below it
(any depth), as metadata only; never its siblings', never its parent's, never a payload."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from hub.organizations.models import Organization
from tests.support import factories
from tests.support.api import Partner, partner
from tests.support.consents import consent_body
from tests.support.referral_world import AGREED, CANARY_NAME, CANARY_NOTE, PURPOSE, World

SUPERVISION_KEYS = {
    "supervision",
    "id",
    "from_organization_id",
    "to_organization_id",
    "service_type",
    "purpose",
    "urgency",
    "status",
    "status_reason",
    "fhir_status",
    "sent_at",
    "acknowledge_by",
    "overdue",
    "created_at",
    "updated_at",
}


def _office(world: World, name: str, parent: Partner | None) -> Partner:
    office = partner(
        world.runtime,
        world.api,
        name,
        kind="iom_office",
        parent_id=parent.organization_id if parent else None,
    )
    with world.runtime.sessions.begin() as db:
        factories.agreement(
            db,
            world.runtime.policy,
            office.organization_id,
            world.recipient.organization_id,
            [PURPOSE],
            AGREED,
        )
    return office


def _refer_from(world: World, office: Partner) -> str:
    body = {
        "external_ref": f"MRRM-{uuid.uuid4().hex[:8]}",
        "subject": {"birth_date": "1990-04-02", "sex": "female"},
        "data": {"identity": {"given_name": CANARY_NAME}, "contact": {"phone": "+227 1"}},
    }
    case = world.api.post("/v1/cases", json=body, headers=office.headers)
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    consent = world.api.post(
        f"/v1/cases/{case_id}/consents",
        json=consent_body(purposes=[PURPOSE]),
        headers=office.headers,
    )
    assert consent.status_code == 201, consent.text
    made = world.refer(case_id, headers=office.headers, categories=["identity", "contact"])
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _hierarchy(world: World) -> dict[str, Partner]:
    """regional › country › Agadez (the world's sender) › Arlit, and Mali beside Niger."""
    regional = _office(world, "IOM Dakar regional office", None)
    country = _office(world, "IOM Niger", regional)
    sibling = _office(world, "IOM Mali", regional)
    with world.runtime.sessions.begin() as db:
        db.execute(
            update(Organization)
            .where(Organization.id == world.sender.organization_id)
            .values(parent_id=country.organization_id)
        )
    agadez = world.sender
    arlit = _office(world, "IOM Arlit", agadez)
    return {
        "regional": regional,
        "country": country,
        "sibling": sibling,
        "agadez": agadez,
        "arlit": arlit,
    }


def _page(world: World, who: Partner, **params: object) -> list[dict[str, object]]:
    response = world.api.get("/v1/referrals", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    assert CANARY_NAME not in response.text and CANARY_NOTE not in response.text
    return list(response.json()["items"])


def test_an_office_sees_the_referrals_below_it_and_no_others(world: World) -> None:
    offices = _hierarchy(world)
    made = {name: _refer_from(world, office) for name, office in offices.items()}
    made["agadez_world"] = world.sent()
    country = offices["country"]

    tree = {item["id"]: item for item in _page(world, country, scope="tree")}
    expected = {made["country"], made["agadez"], made["agadez_world"], made["arlit"]}
    assert set(tree) == expected
    # its own in full (it is their sender), those below as supervision: no case, no data
    assert tree[made["country"]].get("case_id") is not None
    assert "supervision" not in tree[made["country"]]
    for name in ("agadez", "agadez_world", "arlit"):
        item = tree[made[name]]
        assert set(item) == SUPERVISION_KEYS, name
        assert item["supervision"] is True and item["status"] == "sent"
        assert item["overdue"] is False

    # without scope=tree: unchanged, its own only
    assert [i["id"] for i in _page(world, country)] == [made["country"]]
    assert [i["id"] for i in _page(world, country, scope="own")] == [made["country"]]
    # a sub-office sees below itself, not its parent's nor its parent's other offices
    agadez_tree = {i["id"] for i in _page(world, offices["agadez"], scope="tree")}
    assert agadez_tree == {made["agadez"], made["agadez_world"], made["arlit"]}
    # the bottom of the tree sees only its own; the top sees everything under it
    assert {i["id"] for i in _page(world, offices["arlit"], scope="tree")} == {made["arlit"]}
    assert {i["id"] for i in _page(world, offices["regional"], scope="tree")} == set(made.values())
    # an organisation outside the hierarchy: nothing
    assert _page(world, world.outsider, scope="tree") == []
    # the recipient sees what it received, in full, whatever the scope
    assert len(_page(world, world.recipient, scope="tree")) == len(made)


def test_supervision_is_a_list_not_a_read(world: World) -> None:
    offices = _hierarchy(world)
    below = _refer_from(world, offices["agadez"])
    country = offices["country"]
    assert _page(world, country, scope="tree")[0]["id"] == below
    # reading it, its events or moving it stays 404 for the office above
    assert world.get(below, country).status_code == 404
    assert world.get(below, country, payload="false").status_code == 404
    events = world.api.get(f"/v1/referrals/{below}/events", headers=country.headers)
    assert events.status_code == 404
    assert world.act(below, "cancel", country, {"reason": "x"}).status_code == 404


def test_tree_filters_by_role_status_and_lateness(world: World) -> None:
    offices = _hierarchy(world)
    below = _refer_from(world, offices["agadez"])
    country = offices["country"]
    assert [i["id"] for i in _page(world, country, scope="tree", role="sent")] == [below]
    assert _page(world, country, scope="tree", role="received") == []
    assert _page(world, country, scope="tree", status="accepted") == []
    assert [i["id"] for i in _page(world, country, scope="tree", status="sent")] == [below]
    assert _page(world, country, scope="tree", overdue="true") == []
    bad = world.api.get("/v1/referrals", params={"scope": "all"}, headers=country.headers)
    assert bad.status_code == 422
