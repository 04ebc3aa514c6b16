"""GET /v1/transfers?scope=tree: the country office also sees its sub-office's transfers, as
metadata only (no case, no plan); not without the scope, and not the other way up."""

from __future__ import annotations

from tests.support.api import Partner
from tests.support.transfer_world import CANARY_CONTACT, CANARY_NAME, CANARY_PLAN, World


def _page(world: World, who: Partner, **params: object) -> list[dict[str, object]]:
    response = world.api.get("/v1/transfers", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    for canary in (CANARY_NAME, CANARY_PLAN, CANARY_CONTACT):
        assert canary not in response.text
    return list(response.json()["items"])


def test_the_country_office_sees_its_sub_offices_transfers(world: World) -> None:
    to_ngo, _ = world.sent()
    to_country, _ = world.sent(to=world.country)

    tree = {item["id"]: item for item in _page(world, world.country, scope="tree")}
    assert set(tree) == {to_ngo, to_country}
    # offered to it: its own, in full; the one between its sub-office and the NGO: supervision
    assert tree[to_country].get("case_id") is not None
    assert tree[to_ngo] == {
        "supervision": True,
        "id": to_ngo,
        "from_organization_id": world.sender.organization_id,
        "to_organization_id": world.ngo.organization_id,
        "within_hierarchy": False,
        "status": "sent",
        "status_reason": None,
        "created_at": tree[to_ngo]["created_at"],
        "updated_at": tree[to_ngo]["updated_at"],
    }
    assert [i["id"] for i in _page(world, world.country)] == [to_country]
    # both were sent by the sub-office; the country office received one of them
    sent_below = _page(world, world.country, scope="tree", role="sent")
    assert {i["id"] for i in sent_below} == {to_ngo, to_country}
    received = _page(world, world.country, scope="tree", role="received")
    assert [i["id"] for i in received] == [to_country]
    # the sub-office does not see above itself; the NGO has no offices below
    assert {i["id"] for i in _page(world, world.sender, scope="tree")} == {to_ngo, to_country}
    assert [i["id"] for i in _page(world, world.ngo, scope="tree")] == [to_ngo]
    assert _page(world, world.outsider, scope="tree") == []
    # a list, not a read: the transfer itself stays 404 to the office above
    assert world.get(to_ngo, world.country).status_code == 404
