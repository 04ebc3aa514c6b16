"""A case transfer without the person's consent, on a legal basis of the policy: a child's case
handed over in its best interests to a government authority outside the IOM hierarchy. Who may
invoke the basis, the two consent officers, what the gate lets go (the basis's categories only),
the basis kept at every later asking, the accounting and the news owed to the person."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent.models import GateDecision
from hub.disclosures.models import Disclosure
from hub.legal_bases import notices
from hub.legal_bases.models import PersonNotice
from hub.notifications.models import Notification
from hub.reviews.models import Review
from hub.runtime import Runtime
from tests.support.api import Partner, client_for, officer_for, person_of
from tests.support.outbox_drain import drain
from tests.support.transfer_world import CANARY_PLAN, World, make_world, ministry

CASEWORK = "cases:read cases:write transfers:read transfers:write"
BASIS = "best_interests_determination"
WHY = "The BID panel found the child must be placed under the ministry's guardianship now."
CHILD = "2015-06-01"
# what the basis covers of what the case holds and the agreement allows
HANDED_OVER = ["contact", "identity"]
KEPT_BACK = ["health", "legal_status", "psychosocial"]


@pytest.fixture
def world(runtime: Runtime, api: TestClient) -> World:
    return make_world(runtime, api)


@pytest.fixture
def authority(world: World) -> Partner:
    return ministry(world)


def _person(world: World, role: str = "case_worker") -> Partner:
    office = world.sender.organization_id
    client = client_for(world.runtime, world.api, office, CASEWORK)
    return client.acting_for(person_of(world.runtime, office, role))


def _on_basis(world: World, who: Partner, case_id: str, to: Partner, **overrides: Any) -> Any:
    body = {"legal_basis": BASIS, "basis_justification": WHY, **overrides}
    return world.api.post(
        "/v1/transfers",
        json={
            "case_id": case_id,
            "to_organization_id": to.organization_id,
            "plan": {
                "reason": CANARY_PLAN,
                "open_needs": ["guardianship"],
                "risks": "none known",
                "handover_contact": "the BID focal point",
            },
            **body,
        },
        headers=who.headers,
    )


def _approve(world: World, officer: Partner, review_id: str) -> Any:
    return world.api.post(
        f"/v1/reviews/{review_id}/approve",
        json={"justification": "The BID panel's record is attached; the ministry is competent."},
        headers=officer.headers,
    )


def _approved_twice(world: World, review_id: str) -> None:
    office = world.sender.organization_id
    for _ in range(2):
        answer = _approve(world, officer_for(world.runtime, world.api, office), review_id)
        assert answer.status_code == 200, answer.text
    drain(world.runtime)


def _disclosures(world: World, transfer_id: str) -> list[Disclosure]:
    with world.runtime.sessions() as db:
        query = select(Disclosure).where(Disclosure.transfer_id == transfer_id)
        return list(db.scalars(query.order_by(Disclosure.at)))


def _notices(world: World, **params: Any) -> list[dict[str, Any]]:
    answer = world.api.get("/v1/person-notices", params=params, headers=world.sender.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_two_officers_hand_a_childs_case_to_the_authority_and_the_person_is_owed_the_news(
    runtime: Runtime, world: World, authority: Partner
) -> None:
    case_id = world.case(birth_date=CHILD)  # no consent recorded at all
    worker = _person(world)
    made = _on_basis(world, worker, case_id, authority)
    assert made.status_code == 202, made.text
    held = made.json()
    assert (held["status"], held["legal_basis"], held["within_hierarchy"]) == (
        "pending_review",
        BASIS,
        False,
    )
    assert held["consent_ids"] == []
    # at most the basis's categories (the agreement's too): the rest would stay behind
    assert held["categories"] == HANDED_OVER
    assert held["withheld_categories"] == KEPT_BACK
    codes = {reason["code"] for reason in held["reasons"]}
    assert "legal_basis" in codes and "no_consent" not in codes

    first, second = (
        officer_for(runtime, world.api, world.sender.organization_id),
        officer_for(runtime, world.api, world.sender.organization_id),
    )
    review = world.api.get(f"/v1/reviews/{held['review_id']}", headers=first.headers).json()
    assert (review["kind"], review["object_id"]) == ("transfer", held["id"])
    assert review["legal_basis"] == BASIS and review["officers_required"] == 2
    assert review["basis_justification"] == WHY
    # the basis's officers' urgency, though a transfer has none of its own
    assert review["urgency"] == "high"
    # the office's consent officers are told at once, as for a referral on a basis
    drain(runtime)
    with runtime.sessions() as db:
        told = db.scalars(
            select(Notification).where(
                Notification.code == "review.held", Notification.object_id == held["review_id"]
            )
        ).all()
    assert told and {n.organization_id for n in told} == {world.sender.organization_id}

    one = _approve(world, first, held["review_id"])
    assert one.status_code == 200, one.text
    assert one.json()["status"] == "pending"
    drain(runtime)
    assert world.get(held["id"], world.sender).json()["status"] == "pending_review"
    # nothing has left after one approval: the authority does not even see the transfer
    assert world.get(held["id"], authority).status_code == 404
    assert _disclosures(world, held["id"]) == []

    again = _approve(world, first, held["review_id"])
    assert again.status_code == 403 and again.json()["code"] == "second_officer_required"

    two = _approve(world, second, held["review_id"])
    assert two.status_code == 200 and two.json()["status"] == "approved", two.text
    drain(runtime)
    assert world.get(held["id"], world.sender).json()["status"] == "sent"

    offer = world.get(held["id"], authority).json()
    assert offer["legal_basis"] == BASIS
    assert offer["plan"]["reason"] == CANARY_PLAN and offer["plan_withheld"] is None
    # the offer's first disclosure opened the news owed, by the sending office
    owed = _notices(world, status="owed")
    assert [(n["transfer_id"], n["referral_id"], n["legal_basis"]) for n in owed] == [
        (held["id"], None, BASIS)
    ]

    accepted = world.act(held["id"], "accept", authority)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["released_categories"] == HANDED_OVER
    with runtime.sessions() as db:
        case = db.get_one(Case, case_id)
        assert case.owner_organization_id == authority.organization_id
        decisions = db.scalars(select(GateDecision).where(GateDecision.case_id == case_id)).all()
    # the basis at every asking: creation, the approval, the offer's read, the acceptance
    assert {d.context for d in decisions} >= {"transfer", "review_approved", "transfer_accept"}
    assert {d.legal_basis for d in decisions} == {BASIS}

    accounting = _disclosures(world, held["id"])
    assert [d.channel for d in accounting] == ["inbox", "transfer"]
    assert {d.legal_basis for d in accounting} == {BASIS}
    assert all(d.consent_ids == [] for d in accounting)
    assert accounting[-1].categories == HANDED_OVER
    # the statement of disclosures the new owner gives the person shows the basis
    statement = world.api.get(f"/v1/cases/{case_id}/disclosures", headers=authority.headers).json()[
        "items"
    ]
    assert statement and {d["legal_basis"] for d in statement} == {BASIS}

    # one notice for the transfer, still the sending office's to give after the case moved
    [notice] = _notices(world)
    assert notice["transfer_id"] == held["id"] and notice["status"] == "owed"
    assert world.api.get("/v1/person-notices", headers=authority.headers).json()["items"] == []
    for outsider in (authority, world.outsider):
        looked = world.api.get(f"/v1/person-notices/{notice['id']}", headers=outsider.headers)
        assert looked.status_code == 404
    read = world.api.get(f"/v1/person-notices/{notice['id']}", headers=world.sender.headers)
    assert read.json()["transfer_id"] == held["id"]


def test_who_may_invoke_a_basis_for_a_transfer_and_what_they_must_say(
    runtime: Runtime, world: World, authority: Partner
) -> None:
    case_id = world.case(birth_date=CHILD)
    worker = _person(world)
    office = world.sender.organization_id

    bare = client_for(runtime, world.api, office, CASEWORK)
    refused = _on_basis(world, bare, case_id, authority)
    assert refused.status_code == 403 and refused.json()["code"] == "person_required"

    # a legal obligation is the consent officers' to invoke, not a case worker's
    obliged = _on_basis(world, worker, case_id, authority, legal_basis="legal_obligation")
    assert obliged.status_code == 403 and obliged.json()["code"] == "legal_basis_not_allowed"
    assert obliged.json()["roles"] == ["consent_officer"]

    for justification in (None, "   "):
        silent = _on_basis(world, worker, case_id, authority, basis_justification=justification)
        assert silent.status_code == 422
        assert silent.json()["code"] == "basis_justification_required"

    secret = "Zanibetta-basis"
    unknown = _on_basis(world, worker, case_id, authority, legal_basis=secret)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_value"
    assert secret not in unknown.text

    # within the hierarchy no consent is needed, so no basis either
    inside = _on_basis(world, worker, case_id, world.country)
    assert inside.status_code == 422 and inside.json()["code"] == "legal_basis_not_needed"

    with runtime.sessions() as db:
        assert db.scalar(select(Review).where(Review.case_id == case_id)) is None
        assert db.scalar(select(GateDecision).where(GateDecision.case_id == case_id)) is None


def test_neither_the_requester_nor_one_officer_twice_approves_it(
    runtime: Runtime, world: World, authority: Partner
) -> None:
    # a consent officer invokes it: they cannot be one of the two
    requester = _person(world, "consent_officer")
    made = _on_basis(world, requester, world.case(birth_date=CHILD), authority)
    assert made.status_code == 202, made.text
    review_id = made.json()["review_id"]
    own = world.api.post(
        f"/v1/reviews/{review_id}/approve",
        json={"justification": "mine"},
        headers=client_for(runtime, world.api, world.sender.organization_id, "reviews:decide")
        .acting_for(requester.user_id)
        .headers,
    )
    assert own.status_code == 403 and own.json()["code"] == "four_eyes"
    with runtime.sessions() as db:
        assert db.get_one(Review, review_id).first_approved_by is None


def test_a_consent_excluding_the_recipient_still_vetoes_then_and_later(
    runtime: Runtime, world: World, authority: Partner
) -> None:
    worker = _person(world)
    excluded = world.case(birth_date=CHILD)
    world.consent(excluded, exclusions={"organizations": [authority.organization_id]})
    vetoed = _on_basis(world, worker, excluded, authority)
    assert vetoed.status_code == 422, vetoed.text
    assert "recipient_excluded" in {r["code"] for r in vetoed.json()["reasons"]}

    # the person's "never" recorded while the offer waits: the basis is asked again at each
    # read and at acceptance, and the veto stands
    case_id = world.case(birth_date=CHILD)
    held = _on_basis(world, worker, case_id, authority).json()
    _approved_twice(world, held["review_id"])
    assert world.get(held["id"], authority).json()["plan"] is not None
    world.consent(case_id, exclusions={"organizations": [authority.organization_id]})
    read = world.get(held["id"], authority).json()
    assert read["plan"] is None and read["plan_withheld"][0]["code"] == "consent_denied"
    refused = world.act(held["id"], "accept", authority)
    assert refused.status_code == 422 and refused.json()["code"] == "consent_denied"
    with runtime.sessions() as db:
        assert db.get_one(Case, case_id).owner_organization_id == world.sender.organization_id
        last = db.scalars(
            select(GateDecision)
            .where(GateDecision.case_id == case_id, GateDecision.context == "transfer_accept")
            .order_by(GateDecision.decided_at.desc())
        ).first()
    assert last is not None and last.legal_basis == BASIS and last.outcome == "deny"


def test_a_resubmitted_transfer_keeps_its_basis_and_its_two_officers(
    runtime: Runtime, world: World, authority: Partner
) -> None:
    held = _on_basis(world, _person(world), world.case(birth_date=CHILD), authority).json()
    sent_back = world.api.post(
        f"/v1/reviews/{held['review_id']}/return",
        json={"justification": "Attach the panel's date to the plan."},
        headers=officer_for(runtime, world.api, world.sender.organization_id).headers,
    )
    assert sent_back.status_code == 200, sent_back.text
    drain(runtime)
    again = world.act(held["id"], "resubmit", world.sender)
    assert again.status_code == 202, again.text
    assert again.json()["legal_basis"] == BASIS
    review_id = again.json()["review_id"]
    assert review_id != held["review_id"]
    review = world.api.get(f"/v1/reviews/{review_id}", headers=world.officer.headers).json()
    assert (review["legal_basis"], review["officers_required"]) == (BASIS, 2)
    assert review["basis_justification"] == WHY
    _approved_twice(world, review_id)
    assert world.get(held["id"], world.sender).json()["status"] == "sent"


def test_the_office_is_reminded_until_it_records_the_person_was_told(
    runtime: Runtime, world: World, authority: Partner
) -> None:
    held = _on_basis(world, _person(world), world.case(birth_date=CHILD), authority).json()
    _approved_twice(world, held["review_id"])
    assert world.act(held["id"], "accept", authority).status_code == 200
    office = world.sender.organization_id

    first_after = runtime.policy.legal_bases[BASIS].inform_person.first_after
    assert notices.remind(runtime, now=utcnow() + first_after - timedelta(hours=1)).reminded == []
    later = utcnow() + first_after + timedelta(minutes=1)
    assert len(notices.remind(runtime, now=later).reminded) == 1
    assert notices.remind(runtime, now=later).reminded == []
    every = runtime.policy.legal_bases[BASIS].inform_person.remind_every
    assert len(notices.remind(runtime, now=later + every).reminded) == 1
    drain(runtime)
    with runtime.sessions() as db:
        told_of = db.scalars(
            select(Notification).where(Notification.code == "person_notice.reminder")
        ).all()
        notice = db.scalar(select(PersonNotice).where(PersonNotice.transfer_id == held["id"]))
    assert notice is not None and notice.reminders == 2 and notice.referral_id is None
    # the sending office's consent officers and the case worker who asked, not the new owner
    assert told_of and {n.organization_id for n in told_of} == {office}

    told = world.api.post(
        f"/v1/person-notices/{notice.id}/told",
        json={"told_whom": "caregiver", "told_how": "in_person"},
        headers=world.sender.headers,
    )
    assert told.status_code == 200, told.text
    assert (told.json()["status"], told.json()["transfer_id"]) == ("told", held["id"])
    assert notices.remind(runtime, now=later + timedelta(days=365)).reminded == []
