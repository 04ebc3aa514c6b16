"""What a consent officer decides on, the queue's order and scope, and four eyes by person."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from hub.api.problems import Problem
from hub.auth.tokens import person_of
from hub.clock import utcnow
from hub.reviews import service as reviews
from hub.reviews.models import Review
from hub.reviews.schemas import ReviewStatus
from hub.runtime import Runtime
from tests.support import factories
from tests.support.api import partner
from tests.support.reviews import consent_officer, held_request, officer_actor


def _offices(runtime: Runtime) -> tuple[str, str]:
    with runtime.sessions.begin() as db:
        country = factories.org(db, runtime.policy, "IOM Niger", kind="iom_office").id
        sub = factories.org(
            db, runtime.policy, "IOM Agadez", kind="iom_office", parent_id=country
        ).id
    return country, sub


def test_a_review_carries_what_the_officer_decides_on(runtime: Runtime) -> None:
    _, sub = _offices(runtime)
    review_id = held_request(runtime, sub, urgency="high", note="Canary: hides in Arlit")
    with runtime.sessions.begin() as db:
        read = reviews.read(db=db, keyring=runtime.keyring, review=db.get_one(Review, review_id))
    assert (read.urgency, read.age_band, read.recipient_kind) == ("high", "adult", "government")
    assert read.note == "Canary: hides in Arlit"
    assert read.due_at is not None
    hours = (read.due_at - read.created_at).total_seconds() / 3600
    assert hours == runtime.policy.reviews.high.deadline_hours
    assert not read.overdue and not read.escalated and read.returned is None
    # the note is sealed at rest
    with runtime.sessions() as db:
        sealed = db.get_one(Review, review_id).note_ciphertext
    assert sealed is not None and b"Arlit" not in sealed
    with runtime.sessions.begin() as db:
        db.execute(
            update(Review)
            .where(Review.id == review_id)
            .values(due_at=utcnow() - timedelta(minutes=1))
        )
    with runtime.sessions() as db:
        late = reviews.read(db=db, keyring=runtime.keyring, review=db.get_one(Review, review_id))
    assert late.overdue


def test_a_childs_review_shows_the_policy_band(runtime: Runtime) -> None:
    _, sub = _offices(runtime)
    today = utcnow().date()
    review_id = held_request(runtime, sub, birth_date=today.replace(year=today.year - 16))
    with runtime.sessions() as db:
        assert db.get_one(Review, review_id).age_band == "15_to_17"


def _escalate(runtime: Runtime, review_id: str, to: str | None) -> None:
    with runtime.sessions.begin() as db:
        db.execute(
            update(Review)
            .where(Review.id == review_id)
            .values(escalated_at=utcnow(), escalated_to_organization_id=to)
        )


def test_the_queue_puts_the_most_urgent_first(runtime: Runtime) -> None:
    _, sub = _offices(runtime)
    oldest_normal = held_request(runtime, sub, urgency="normal")
    high = held_request(runtime, sub, urgency="high")
    emergency = held_request(runtime, sub, urgency="emergency")
    escalated_normal = held_request(runtime, sub, urgency="normal")
    _escalate(runtime, escalated_normal, None)
    decided = held_request(runtime, sub, urgency="emergency")
    officer = officer_actor(runtime, sub)
    with runtime.sessions.begin() as db:
        reviews.decide(
            db=db,
            review=db.get_one(Review, decided),
            actor=officer,
            outcome=ReviewStatus.approved,
            justification="fine",
        )
    with runtime.sessions() as db:
        order = [r.id for r in reviews.queue(db=db, keyring=runtime.keyring, organization_id=sub)]
        assert order == [emergency, high, escalated_normal, oldest_normal]
        assert reviews.count_waiting(db=db, organization_id=sub) == 4
        short = reviews.queue(db=db, keyring=runtime.keyring, organization_id=sub, limit=2)
        assert [r.id for r in short] == [emergency, high]


def test_the_office_above_queues_what_was_escalated_to_it(runtime: Runtime) -> None:
    country, sub = _offices(runtime)
    below = held_request(runtime, sub, urgency="emergency")
    own = held_request(runtime, country)
    with runtime.sessions() as db:
        queued = reviews.queue(db=db, keyring=runtime.keyring, organization_id=country)
        assert [r.id for r in queued] == [own]
        assert reviews.count_waiting(db=db, organization_id=country) == 1
        # the whole scope, most urgent first
        everything = reviews.queue(
            db=db, keyring=runtime.keyring, organization_id=country, include_below=True
        )
        assert [r.id for r in everything] == [below, own]
    _escalate(runtime, below, country)
    with runtime.sessions() as db:
        queued = reviews.queue(db=db, keyring=runtime.keyring, organization_id=country)
        assert [r.id for r in queued] == [below, own]
        assert queued[0].escalated and queued[0].escalated_to_organization_id == country
        assert reviews.count_waiting(db=db, organization_id=country) == 2
        # still the sub-office's too
        assert reviews.count_waiting(db=db, organization_id=sub) == 1


def test_the_api_lists_in_priority_order(runtime: Runtime, api: TestClient) -> None:
    office = partner(runtime, api, "IOM Agadez", kind="iom_office", scope="reviews:decide")
    normal = held_request(runtime, office.organization_id)
    emergency = held_request(runtime, office.organization_id, urgency="emergency")
    newest = api.get("/v1/reviews?status=pending", headers=office.headers).json()
    assert [i["id"] for i in newest["items"]] == [emergency, normal]
    ordered = api.get("/v1/reviews?status=pending&order=priority", headers=office.headers)
    assert ordered.status_code == 200, ordered.text
    assert [i["id"] for i in ordered.json()["items"]] == [emergency, normal]
    assert ordered.json()["next"] is None
    assert ordered.json()["items"][0]["urgency"] == "emergency"
    for query in ("status=approved&order=priority", "order=priority&cursor=abc"):
        refused = api.get(f"/v1/reviews?{query}", headers=office.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "unsupported_order"
    assert api.get("/v1/reviews?order=loudest", headers=office.headers).status_code == 422


@pytest.mark.parametrize(
    ("requested_by", "made_by", "decider", "allowed"),
    [
        # the same client, or the same person however they come in
        ("client:c1", None, "client:c1", False),
        ("user:u1@o1", None, "user:u1@o1 via client:c1", False),
        ("user:u1@o1 via client:c1", None, "user:u1@o1", False),
        # the person who made it, when someone else resubmitted it
        ("user:u3@o1", "user:u2@o1 via client:c1", "user:u2@o1", False),
        ("user:u3@o1", "user:u2@o1", "user:u2@o1 via client:c9", False),
        ("user:u3@o1", "client:c1", "client:c1", False),
        # anyone else
        ("user:u1@o1", "user:u2@o1", "user:u4@o1", True),
        ("client:c1", None, "client:c2", True),
        ("client:c1", None, "user:u4@o1 via client:c1", True),
    ],
)
def test_four_eyes_by_person(
    runtime: Runtime, requested_by: str, made_by: str | None, decider: str, allowed: bool
) -> None:
    _, sub = _offices(runtime)
    # u1..u4 stand for real consent officers of the office: deciders are checked by role
    people = {f"u{i}": consent_officer(runtime, sub) for i in range(1, 5)}

    def real(actor: str | None) -> str | None:
        if actor is None:
            return None
        return re.sub(r"user:(u\d)@", lambda m: f"user:{people[m.group(1)]}@", actor)

    requested_by, made_by, decider = real(requested_by), real(made_by), str(real(decider))
    review_id = held_request(runtime, sub, requested_by=requested_by, made_by=made_by)
    with runtime.sessions.begin() as db:
        review = db.get_one(Review, review_id)
        assert reviews.may_decide(review, decider) is allowed
        # every decision is a person's act: a client alone decides nothing
        person = person_of(decider) is not None
        if allowed and person:
            reviews.decide(
                db=db, review=review, actor=decider, outcome="returned", justification="fix it"
            )
            assert review.status == "returned"
            return
        for outcome in ReviewStatus.approved, ReviewStatus.denied, ReviewStatus.returned:
            with pytest.raises(Problem) as refused:
                reviews.decide(
                    db=db, review=review, actor=decider, outcome=outcome, justification="x"
                )
            assert refused.value.code == ("four_eyes" if person else "person_required")
    with runtime.sessions() as db:
        assert db.get_one(Review, review_id).status == "pending"


def test_a_blank_justification_is_a_problem_not_a_crash(runtime: Runtime) -> None:
    _, sub = _offices(runtime)
    review_id = held_request(runtime, sub)
    officer = officer_actor(runtime, sub)
    with runtime.sessions.begin() as db, pytest.raises(Problem) as refused:
        reviews.decide(
            db=db,
            review=db.get_one(Review, review_id),
            actor=officer,
            outcome=ReviewStatus.denied,
            justification="   ",
        )
    assert (refused.value.status, refused.value.code) == (422, "justification_required")
