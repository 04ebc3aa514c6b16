"""GET /v1/cases/{id}/disclosures: the case owner's accounting of what left, and to whom."""

from __future__ import annotations

from tests.support.referral_world import CANARY_NAME, World


def test_the_owner_reads_the_accounting(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    first = world.refer(case_id).json()["id"]
    second = world.refer(case_id, categories=["identity"]).json()["id"]
    path = f"/v1/cases/{case_id}/disclosures"
    assert world.api.get(path, headers=world.sender.headers).json() == {"items": [], "next": None}

    one = world.get(first, world.recipient).json()
    world.get(second, world.recipient)
    world.get(first, world.recipient, payload="false")  # no data, no entry

    response = world.api.get(path, headers=world.sender.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["referral_id"] for i in items] == [second, first]  # newest first
    latest, earliest = items
    assert earliest["recipient_organization_id"] == world.recipient.organization_id
    assert earliest["categories"] == ["contact", "identity", "psychosocial"]
    assert latest["categories"] == ["identity"]
    assert earliest["consent_ids"] == [consent["id"]]
    assert earliest["channel"] == "inbox" and earliest["transfer_id"] is None
    assert len(earliest["payload_sha256"]) == 64 and earliest["audit_seq"] > 0
    assert earliest["decision_id"] and one["payload"]
    assert CANARY_NAME not in response.text

    page = world.api.get(path, params={"limit": 1}, headers=world.sender.headers).json()
    assert [i["referral_id"] for i in page["items"]] == [second] and page["next"]
    rest = world.api.get(
        path, params={"limit": 1, "cursor": page["next"]}, headers=world.sender.headers
    ).json()
    assert [i["referral_id"] for i in rest["items"]] == [first] and rest["next"] is None


def test_only_the_owner(world: World) -> None:
    case_id = world.case()
    world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]
    world.get(referral_id, world.recipient)
    path = f"/v1/cases/{case_id}/disclosures"
    for who in (world.recipient, world.outsider):
        response = world.api.get(path, headers=who.headers)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
