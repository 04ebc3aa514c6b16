"""A referral without the person's consent, on a legal basis of the policy: who may invoke it,
what the gate lets out, the two consent officers, the accounting and the news owed to the
person afterwards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.clock import utcnow
from hub.legal_bases import notices
from hub.legal_bases.models import PersonNotice
from hub.notifications.models import Notification
from hub.reviews.models import Review
from hub.runtime import Runtime
from tests.support.api import Partner, client_for, officer_for, person_of
from tests.support.outbox_drain import drain
from tests.support.referral_world import CANARY_NAME, World, make_world

CASEWORK = "cases:read cases:write referrals:read referrals:write"
WHY = "Found unconscious at the transit centre; the clinic needs her identity and allergies now."
ASKED = ["identity", "contact", "health", "legal_status"]


@pytest.fixture
def world(runtime: Runtime, api: TestClient) -> World:
    return make_world(runtime, api)


def _case_worker(world: World) -> Partner:
    office = world.sender.organization_id
    client = client_for(world.runtime, world.api, office, CASEWORK)
    return client.acting_for(person_of(world.runtime, office, "case_worker"))


def _on_basis(world: World, who: Partner, case_id: str, **overrides: Any) -> Any:
    body = {
        "legal_basis": "vital_interest",
        "basis_justification": WHY,
        "categories": ASKED,
        "urgency": "emergency",
        **overrides,
    }
    return world.refer(case_id, headers=who.headers, **body)


def _approve(world: World, officer: Partner, review_id: str) -> Any:
    return world.api.post(
        f"/v1/reviews/{review_id}/approve",
        json={"justification": "Life at risk; the clinic is the only one open."},
        headers=officer.headers,
    )


def test_two_officers_release_a_referral_on_vital_interest_and_the_person_is_owed_the_news(
    runtime: Runtime, world: World
) -> None:
    case_id = world.case()  # no consent recorded at all
    worker = _case_worker(world)
    made = _on_basis(world, worker, case_id)
    assert made.status_code == 202, made.text
    held = made.json()
    assert (held["status"], held["legal_basis"]) == ("pending_review", "vital_interest")
    assert held["consent_ids"] == []
    # at most the basis's categories: legal status is not among them
    assert sorted(held["categories"]) == ["contact", "health", "identity"]
    assert held["withheld_categories"] == ["legal_status"]
    codes = {reason["code"] for reason in held["reasons"]}
    assert "legal_basis" in codes and "no_consent" not in codes

    first, second = (
        officer_for(runtime, world.api, world.sender.organization_id),
        officer_for(runtime, world.api, world.sender.organization_id),
    )
    review = world.api.get(f"/v1/reviews/{held['review_id']}", headers=first.headers).json()
    assert review["legal_basis"] == "vital_interest"
    assert review["officers_required"] == 2
    assert review["basis_justification"] == WHY
    # an emergency basis is decided within the emergency window, whatever else it is
    assert review["urgency"] == "emergency"

    one = _approve(world, first, held["review_id"])
    assert one.status_code == 200, one.text
    assert one.json()["status"] == "pending"
    assert one.json()["first_approval"]["approved_by"].startswith(f"user:{first.user_id}@")
    drain(runtime)
    assert world.get(held["id"], world.sender).json()["status"] == "pending_review"
    # nothing has left after one approval: the recipient does not even see it
    assert world.get(held["id"], world.recipient).status_code == 404

    again = _approve(world, first, held["review_id"])
    assert again.status_code == 403 and again.json()["code"] == "second_officer_required"

    two = _approve(world, second, held["review_id"])
    assert two.status_code == 200, two.text
    assert two.json()["status"] == "approved"
    drain(runtime)
    assert world.get(held["id"], world.sender).json()["status"] in ("sent", "delivered")

    read = world.get(held["id"], world.recipient).json()
    assert read["legal_basis"] == "vital_interest"
    assert sorted(read["payload"]) == ["contact", "health", "identity"]
    assert read["payload"]["identity"]["given_name"] == CANARY_NAME
    # the basis's data life (three months) travels with what it released
    assert read["erase_by"] is not None

    accounting = world.api.get(
        f"/v1/cases/{case_id}/disclosures", headers=world.sender.headers
    ).json()["items"]
    assert accounting and {d["legal_basis"] for d in accounting} == {"vital_interest"}
    assert all(d["consent_ids"] == [] for d in accounting)

    owed = world.api.get(
        "/v1/person-notices", params={"status": "owed"}, headers=world.sender.headers
    ).json()["items"]
    assert [(n["referral_id"], n["legal_basis"]) for n in owed] == [(held["id"], "vital_interest")]
    notice = owed[0]
    # another organisation's notice does not exist for it
    for outsider in (world.recipient, world.outsider):
        assert (
            world.api.get(
                f"/v1/person-notices/{notice['id']}", headers=outsider.headers
            ).status_code
            == 404
        )
    told = world.api.post(
        f"/v1/person-notices/{notice['id']}/told",
        json={"told_whom": "subject", "told_how": "in_person"},
        headers=world.sender.headers,
    )
    assert told.status_code == 200, told.text
    assert told.json()["status"] == "told" and told.json()["remind_at"] is None
    twice = world.api.post(
        f"/v1/person-notices/{notice['id']}/told",
        json={"told_whom": "subject", "told_how": "phone"},
        headers=world.sender.headers,
    )
    assert twice.status_code == 409 and twice.json()["code"] == "already_told"


def test_who_may_invoke_a_basis_and_what_they_must_say(runtime: Runtime, world: World) -> None:
    case_id = world.case()
    worker = _case_worker(world)
    office = world.sender.organization_id

    bare = client_for(runtime, world.api, office, CASEWORK)
    refused = _on_basis(world, bare, case_id)
    assert refused.status_code == 403 and refused.json()["code"] == "person_required"

    # a legal obligation is the consent officers' to invoke, not a case worker's
    obliged = _on_basis(world, worker, case_id, legal_basis="legal_obligation")
    assert obliged.status_code == 403 and obliged.json()["code"] == "legal_basis_not_allowed"
    assert obliged.json()["roles"] == ["consent_officer"]

    for justification in (None, "   "):
        silent = _on_basis(world, worker, case_id, basis_justification=justification)
        assert silent.status_code == 422
        assert silent.json()["code"] == "basis_justification_required"

    secret = "Zanibetta-basis"
    unknown = _on_basis(world, worker, case_id, legal_basis=secret)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_value"
    assert secret not in unknown.text

    # a person of another organisation acting through this office's client cannot invoke it
    stranger = bare.acting_for(person_of(runtime, world.outsider.organization_id, "case_worker"))
    assert _on_basis(world, stranger, case_id).status_code in (403, 401)

    with runtime.sessions() as db:
        assert db.scalar(select(Review).where(Review.case_id == case_id)) is None


def test_a_basis_never_overrides_the_persons_never_nor_a_missing_agreement(
    runtime: Runtime, world: World
) -> None:
    worker = _case_worker(world)
    excluded = world.case()
    world.consent(excluded, exclusions={"organizations": [world.recipient.organization_id]})
    vetoed = _on_basis(world, worker, excluded)
    assert vetoed.status_code == 422, vetoed.text
    codes = {r["code"] for r in vetoed.json()["reasons"]}
    assert "recipient_excluded" in codes

    # no agreement from the office to the outsider: a basis does not open one
    no_deal = _on_basis(
        world, worker, world.case(), to_organization_id=world.outsider.organization_id
    )
    assert no_deal.status_code == 422
    assert "no_agreement" in {r["code"] for r in no_deal.json()["reasons"]}

    # a basis serves its purposes only: a best-interests determination is not for counselling
    off_purpose = _on_basis(world, worker, world.case(), legal_basis="best_interests_determination")
    assert off_purpose.status_code == 422
    assert "purpose_not_covered" in {r["code"] for r in off_purpose.json()["reasons"]}


def test_the_office_is_reminded_until_it_records_the_person_was_told(
    runtime: Runtime, world: World
) -> None:
    case_id = world.case()
    held = _on_basis(world, _case_worker(world), case_id).json()
    office = world.sender.organization_id
    for _ in range(2):
        _approve(world, officer_for(runtime, world.api, office), held["review_id"])
    drain(runtime)
    assert world.get(held["id"], world.recipient).json()["payload"]

    first_after = runtime.policy.legal_bases["vital_interest"].inform_person.first_after
    assert notices.remind(runtime, now=utcnow() + first_after - timedelta(hours=1)).reminded == []
    later = utcnow() + first_after + timedelta(minutes=1)
    reminded = notices.remind(runtime, now=later).reminded
    assert len(reminded) == 1
    # run twice at the same moment: reminded once
    assert notices.remind(runtime, now=later).reminded == []
    drain(runtime)
    with runtime.sessions() as db:
        told_of = db.scalars(
            select(Notification).where(Notification.code == "person_notice.reminder")
        ).all()
        notice = db.scalar(select(PersonNotice).where(PersonNotice.referral_id == held["id"]))
        assert notice is not None and notice.reminders == 1
    # the office's consent officers and the case worker who asked
    assert len(told_of) >= 3
    assert {n.organization_id for n in told_of} == {office}

    told = world.api.post(
        f"/v1/person-notices/{notice.id}/told",
        json={"told_whom": "caregiver", "told_how": "phone"},
        headers=world.sender.headers,
    )
    assert told.status_code == 200, told.text
    much_later = later + timedelta(days=365)
    assert notices.remind(runtime, now=much_later).reminded == []


def test_a_told_at_before_the_disclosure_or_in_the_future_is_refused(
    runtime: Runtime, world: World
) -> None:
    held = _on_basis(world, _case_worker(world), world.case()).json()
    office = world.sender.organization_id
    for _ in range(2):
        _approve(world, officer_for(runtime, world.api, office), held["review_id"])
    drain(runtime)
    world.get(held["id"], world.recipient)
    notice = world.api.get(
        "/v1/person-notices", params={"status": "owed"}, headers=world.sender.headers
    ).json()["items"][0]
    for when in (utcnow() + timedelta(days=1), utcnow() - timedelta(days=30)):
        refused = world.api.post(
            f"/v1/person-notices/{notice['id']}/told",
            json={"told_whom": "subject", "told_how": "phone", "told_at": when.isoformat()},
            headers=world.sender.headers,
        )
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_told_at"


def test_an_emergency_basis_tells_the_officers_at_once_and_escalates_past_its_hour(
    runtime: Runtime, world: World
) -> None:
    office = world.sender.organization_id
    officers = [person_of(runtime, office, "consent_officer") for _ in range(2)]
    held = _on_basis(world, _case_worker(world), world.case(), urgency="normal").json()
    drain(runtime)

    def told(code: str) -> set[str]:
        with runtime.sessions() as db:
            rows = db.scalars(
                select(Notification).where(
                    Notification.code == code, Notification.object_id == held["review_id"]
                )
            ).all()
        return {n.user_id for n in rows}

    assert told("review.held") == set(officers)
    with runtime.sessions() as db:
        review = db.get_one(Review, held["review_id"])
        created, due = review.created_at, review.due_at
    # the emergency window (an hour), though the referral itself was `normal`
    assert due is not None and due - created == timedelta(hours=1)

    from hub.reviews import deadlines

    assert deadlines.run(runtime, now=created + timedelta(minutes=30)).escalated == []
    escalated = deadlines.run(runtime, now=due + timedelta(hours=1)).escalated
    assert escalated == [held["review_id"]]
    drain(runtime)
    assert told("review.escalation") == set(officers)
    # never silently let through: still waiting for its two officers
    assert world.get(held["id"], world.sender).json()["status"] == "pending_review"
