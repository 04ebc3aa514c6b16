"""Reviews API: the queue by IOM hierarchy, four eyes, one decision, and what it sets off."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.outbox.models import OutboxMessage
from hub.reviews.models import Review
from hub.runtime import Runtime
from tests.support.api import Partner, partner
from tests.support.reviews import consent_officer, held_request

JUSTIFIED = {"justification": "Legal aid needs the identity; reviewed with the caseworker."}


@dataclass(frozen=True)
class Offices:
    country: Partner  # IOM Niger, the country office
    sub: Partner  # IOM Agadez, under it
    sibling: Partner  # IOM Zinder, under it too
    unrelated: Partner  # an NGO
    other_country: Partner  # IOM Mali


@pytest.fixture
def offices(runtime: Runtime, api: TestClient) -> Offices:
    def officer(name: str, **kw: str) -> Partner:
        # each office's client acts for one of its consent officers: decisions are by people
        office = partner(runtime, api, name, kind="iom_office", **kw)
        return office.acting_for(consent_officer(runtime, office.organization_id))

    country = officer("IOM Niger")
    parent = country.organization_id
    return Offices(
        country=country,
        sub=officer("IOM Agadez", parent_id=parent),
        sibling=officer("IOM Zinder", parent_id=parent),
        unrelated=partner(runtime, api, "Partner NGO"),
        other_country=officer("IOM Mali"),
    )


def ids(api: TestClient, who: Partner, query: str = "") -> set[str]:
    response = api.get(f"/v1/reviews{query}", headers=who.headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def approve(api: TestClient, who: Partner, review_id: str, body: object = JUSTIFIED):  # type: ignore[no-untyped-def]
    return api.post(f"/v1/reviews/{review_id}/approve", json=body, headers=who.headers)


def deny(api: TestClient, who: Partner, review_id: str, body: object = JUSTIFIED):  # type: ignore[no-untyped-def]
    return api.post(f"/v1/reviews/{review_id}/deny", json=body, headers=who.headers)


def test_an_office_sees_its_own_reviews_and_those_of_the_offices_below(
    runtime: Runtime, api: TestClient, offices: Offices
) -> None:
    at_sub = held_request(runtime, offices.sub.organization_id)
    at_country = held_request(runtime, offices.country.organization_id)
    at_sibling = held_request(runtime, offices.sibling.organization_id)
    assert ids(api, offices.country) == {at_sub, at_country, at_sibling}
    assert ids(api, offices.sub) == {at_sub}
    assert ids(api, offices.sibling) == {at_sibling}
    assert ids(api, offices.unrelated) == set()
    assert ids(api, offices.other_country) == set()


def test_a_review_shows_what_the_gate_said(
    runtime: Runtime, api: TestClient, offices: Offices
) -> None:
    review_id = held_request(runtime, offices.sub.organization_id)
    response = api.get(f"/v1/reviews/{review_id}", headers=offices.country.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "pending" and body["kind"] == "referral"
    assert body["requesting_organization_id"] == offices.sub.organization_id
    assert body["purpose"] == "legal_assistance"
    assert body["categories"] == ["identity"]
    assert body["withheld_categories"] == ["legal_status"]
    assert [r["code"] for r in body["reasons"]] == ["category_not_covered", "recipient_government"]
    assert body["requested_by"] == "user:caseworker"
    assert body["decided_by"] is None and body["justification"] is None
    # a sibling office and an office below the requester do not see it
    for outsider in (offices.sibling, offices.unrelated):
        hidden = api.get(f"/v1/reviews/{review_id}", headers=outsider.headers)
        assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    upward = held_request(runtime, offices.country.organization_id)
    assert api.get(f"/v1/reviews/{upward}", headers=offices.sub.headers).status_code == 404
    assert approve(api, offices.sub, upward).status_code == 404


def test_status_filter_and_pages(runtime: Runtime, api: TestClient, offices: Offices) -> None:
    reviews = [held_request(runtime, offices.sub.organization_id) for _ in range(3)]
    first = api.get("/v1/reviews?limit=2", headers=offices.country.headers).json()
    assert len(first["items"]) == 2 and first["next"]
    second = api.get(
        f"/v1/reviews?limit=2&cursor={first['next']}", headers=offices.country.headers
    ).json()
    assert second["next"] is None
    seen = [item["id"] for item in first["items"] + second["items"]]
    assert sorted(seen) == sorted(reviews)
    assert approve(api, offices.country, reviews[0]).status_code == 200
    assert deny(api, offices.sub, reviews[1]).status_code == 200
    assert ids(api, offices.country, "?status=pending") == {reviews[2]}
    assert ids(api, offices.country, "?status=approved") == {reviews[0]}
    assert ids(api, offices.country, "?status=denied") == {reviews[1]}
    bad = api.get("/v1/reviews?status=maybe", headers=offices.country.headers)
    assert bad.status_code == 422


def test_approval_is_recorded_audited_and_announced(
    runtime: Runtime, api: TestClient, offices: Offices
) -> None:
    review_id = held_request(runtime, offices.sub.organization_id)
    response = approve(api, offices.country, review_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "approved"
    assert body["decided_by"] == offices.country.actor
    assert body["justification"] == JUSTIFIED["justification"]
    with runtime.sessions.begin() as db:
        review = db.get_one(Review, review_id)
        message = db.scalar(select(OutboxMessage).where(OutboxMessage.topic == "review.decided"))
        assert message is not None
        assert message.payload == {
            "review_id": review_id,
            "kind": "referral",
            "object_id": review.object_id,
            "outcome": "approved",
        }
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "review.approved"))
        assert entry is not None and entry.object_id == review_id
        assert "Legal aid" not in str(entry.details)


def test_denial_is_announced_so_the_request_never_leaves(
    runtime: Runtime, api: TestClient, offices: Offices
) -> None:
    review_id = held_request(runtime, offices.sub.organization_id)
    response = deny(api, offices.sub, review_id, {"justification": "Not necessary for legal aid."})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "denied"
    with runtime.sessions.begin() as db:
        payloads = [
            m.payload
            for m in db.scalars(
                select(OutboxMessage).where(OutboxMessage.topic == "review.decided")
            )
        ]
        assert [p["outcome"] for p in payloads] == ["denied"]
        assert db.scalar(select(AuditEntry).where(AuditEntry.action == "review.denied"))


def test_four_eyes(runtime: Runtime, api: TestClient, offices: Offices) -> None:
    requester = offices.sub.actor
    review_id = held_request(runtime, offices.sub.organization_id, requested_by=requester)
    for decide in (approve, deny):
        refused = decide(api, offices.sub, review_id)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "four_eyes"
    with runtime.sessions.begin() as db:
        assert db.get_one(Review, review_id).status == "pending"
        assert (
            db.scalar(select(OutboxMessage).where(OutboxMessage.topic == "review.decided")) is None
        )
    assert approve(api, offices.country, review_id).status_code == 200


def test_a_decided_review_cannot_be_decided_again(
    runtime: Runtime, api: TestClient, offices: Offices
) -> None:
    review_id = held_request(runtime, offices.sub.organization_id)
    assert deny(api, offices.sub, review_id).status_code == 200
    for decide, who in (
        (approve, offices.country),
        (deny, offices.country),
        (approve, offices.sub),
    ):
        again = decide(api, who, review_id)
        assert again.status_code == 409, again.text
        assert again.json()["code"] == "review_decided"
        assert again.json()["review_status"] == "denied"
    with runtime.sessions.begin() as db:
        assert db.get_one(Review, review_id).status == "denied"
        count = len(
            db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "review.decided")).all()
        )
        assert count == 1


@pytest.mark.parametrize("body", [{}, {"justification": ""}, {"justification": "   "}])
def test_a_justification_is_required(
    runtime: Runtime, api: TestClient, offices: Offices, body: dict[str, str]
) -> None:
    review_id = held_request(runtime, offices.sub.organization_id)
    response = approve(api, offices.country, review_id, body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    with runtime.sessions.begin() as db:
        assert db.get_one(Review, review_id).status == "pending"


def test_a_client_acting_for_no_person_cannot_send_back(
    runtime: Runtime, api: TestClient, offices: Offices
) -> None:
    """Every decision is a consent officer's act, by a person (tests/reviews/
    test_people_decide.py: approve and deny too)."""
    review_id = held_request(runtime, offices.sub.organization_id)
    refused = api.post(
        f"/v1/reviews/{review_id}/return",
        json=JUSTIFIED,
        headers=offices.sub.acting_for(None).headers,
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "person_required"
    assert refused.headers["content-type"].startswith("application/problem+json")
    with runtime.sessions.begin() as db:
        assert db.get_one(Review, review_id).status == "pending"
        assert (
            db.scalar(select(OutboxMessage).where(OutboxMessage.topic == "review.decided")) is None
        )
        assert db.scalar(select(AuditEntry).where(AuditEntry.action == "review.returned")) is None
    # another office's client still sees nothing of it
    hidden = api.post(
        f"/v1/reviews/{review_id}/return", json=JUSTIFIED, headers=offices.unrelated.headers
    )
    assert hidden.status_code == 404, hidden.text
    assert approve(api, offices.sub, review_id).status_code == 200


def test_a_client_acting_for_a_consent_officer_sends_back(
    runtime: Runtime, api: TestClient, offices: Offices
) -> None:
    review_id = held_request(runtime, offices.sub.organization_id)
    officer = consent_officer(runtime, offices.sub.organization_id)
    returned = api.post(
        f"/v1/reviews/{review_id}/return",
        json=JUSTIFIED,
        headers=offices.sub.headers | {"On-Behalf-Of": officer},
    )
    assert returned.status_code == 200, returned.text
    body = returned.json()
    assert body["status"] == "returned"
    assert body["decided_by"] == (
        f"user:{officer}@{offices.sub.organization_id} via client:{offices.sub.client_id}"
    )
