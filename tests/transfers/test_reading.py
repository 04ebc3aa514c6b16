"""GET /v1/transfers/{id} and GET /v1/transfers: the parties only; before acceptance the
recipient sees the plan and a minimal summary, never case data; lists by role and status, page
by page."""

from __future__ import annotations

import pytest

from hub.transfers.service import age_band
from tests.support.api import Partner
from tests.support.transfer_world import CANARY_CONTACT, CANARY_NAME, CANARY_PLAN, World, plan


def _ids(world: World, who: Partner, **params: object) -> list[str]:
    response = world.api.get("/v1/transfers", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_before_acceptance_the_recipient_sees_the_plan_and_a_minimal_summary(
    world: World,
) -> None:
    case_id = world.case(external_ref="MRRM-NE-0042", birth_date="2013-03-14")
    caregiver = {"name": "Mariama Canary", "relationship": "mother"}
    world.consent(case_id, given_by="caregiver", caregiver=caregiver, child_assent=True)
    response = world.propose(case_id)
    assert response.status_code == 202, response.text  # a child's case is reviewed
    transfer_id = response.json()["id"]
    world.decide(response.json()["review_id"], "approve")

    response = world.get(transfer_id, world.ngo)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "sent" and body["allowed_actions"] == ["accept", "reject"]
    assert body["plan"] == plan()
    assert body["case"] == {
        "case_id": case_id,
        "external_ref": "MRRM-NE-0042",
        "age_band": "12-17",
        "sex": "female",
    }
    # no case data, no category names, nothing only the sender may know
    assert CANARY_NAME not in response.text
    for field in ("categories", "withheld_categories", "released_categories", "consent_ids"):
        assert body[field] is None, field
    assert body["decision_id"] is None and body["review_id"] is None
    for name in ("identity", "health", "legal_status", "asthma", "Mariama"):
        assert name not in response.text
    # the case itself stays the sender's
    assert world.api.get(f"/v1/cases/{case_id}", headers=world.ngo.headers).status_code == 404

    sender = world.get(transfer_id, world.sender).json()
    assert sender["plan"] == plan() and sender["case"] is None
    assert sender["categories"] == ["contact", "identity", "psychosocial"]
    assert sender["withheld_categories"] == ["health", "legal_status"]
    assert sender["allowed_actions"] == ["cancel"]

    outsider = world.get(transfer_id, world.outsider)
    assert (outsider.status_code, outsider.json()["code"]) == (404, "not_found")
    events = world.api.get(f"/v1/transfers/{transfer_id}/events", headers=world.outsider.headers)
    assert events.status_code == 404
    assert world.get("no-such-transfer", world.sender).status_code == 404


def test_once_rejected_the_recipient_keeps_the_history_but_not_the_plan(world: World) -> None:
    transfer_id, _ = world.sent()
    world.act(transfer_id, "reject", world.ngo, {"reason": "no capacity"})
    body = world.get(transfer_id, world.ngo).json()
    assert body["status"] == "rejected"
    assert body["plan"] is None and body["case"] is None
    assert CANARY_PLAN not in str(body) and CANARY_CONTACT not in str(body)
    assert world.get(transfer_id, world.sender).json()["plan"] == plan()


def test_roles_statuses_and_pages(world: World) -> None:
    first, _ = world.sent()
    second, _ = world.sent(world.country)
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    held = world.propose(case_id).json()["id"]  # pending review: the NGO does not see it
    third, _ = world.sent()
    world.act(third, "reject", world.ngo, {"reason": "no capacity"})
    cancelled_case = world.case()
    world.consent(cancelled_case)
    cancelled = world.propose(cancelled_case).json()["id"]
    world.act(cancelled, "cancel", world.sender, {"reason": "mistake"})

    assert _ids(world, world.sender, role="sent") == [cancelled, third, held, second, first]
    assert _ids(world, world.sender, role="received") == []
    assert _ids(world, world.ngo) == [cancelled, third, first]
    assert _ids(world, world.ngo, role="received") == [cancelled, third, first]
    assert _ids(world, world.ngo, role="sent") == []
    assert _ids(world, world.country, role="received") == [second]
    assert _ids(world, world.outsider) == []
    assert _ids(world, world.sender, status="pending_review") == [held]
    assert _ids(world, world.ngo, status=["sent", "rejected"]) == [third, first]

    listed = world.api.get("/v1/transfers", headers=world.ngo.headers)
    assert CANARY_PLAN not in listed.text and CANARY_NAME not in listed.text
    assert "plan" not in listed.json()["items"][0]

    unknown = world.api.get("/v1/transfers", params={"status": "lost"}, headers=world.ngo.headers)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_value")
    assert "lost" not in unknown.text

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2, "role": "sent"}
        if cursor:
            params["cursor"] = cursor
        page = world.api.get("/v1/transfers", params=params, headers=world.sender.headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [cancelled, third, held, second, first]


def test_the_events_are_the_history(world: World) -> None:
    transfer_id, _ = world.sent()
    world.act(transfer_id, "cancel", world.sender, {"reason": "Canary: the family moved"})
    for who in (world.sender, world.ngo):
        events = world.events(transfer_id, who)
        assert [(e["from_status"], e["to_status"]) for e in events] == [
            (None, "sent"),
            ("sent", "cancelled"),
        ]
        assert events[-1]["reason_code"] == "cancelled_by_sender"
        assert events[-1]["text"] == "Canary: the family moved"
        # the other party sees the sender's organisation, never its client id
        assert events[-1]["actor"] == (
            f"client:{world.sender.client_id}"
            if who is world.sender
            else f"organization:{world.sender.organization_id}"
        )


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "0-4"),
        (4, "0-4"),
        (5, "5-11"),
        (11, "5-11"),
        (12, "12-17"),
        (17, "12-17"),
        (18, "18-59"),
        (59, "18-59"),
        (60, "60+"),
        (97, "60+"),
    ],
)
def test_age_bands(age: int, band: str) -> None:
    assert age_band(age) == band
