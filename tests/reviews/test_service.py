"""Reviews service: opening a review from the gate's decision, and the hierarchy rule."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.api.problems import NotFound
from hub.audit.models import AuditEntry
from hub.consent.gate import Outcome
from hub.outbox.models import OutboxMessage
from hub.reviews import opening
from hub.reviews import service as reviews
from hub.reviews.models import Review
from hub.reviews.service import DECIDED_TOPIC
from hub.runtime import Runtime
from tests.support import factories
from tests.support.gate_world import World
from tests.support.reviews import consent_officer, held_request


def test_opening_a_review_is_audited(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        office = factories.org(db, runtime.policy, "IOM Agadez", kind="iom_office").id
    review_id = held_request(runtime, office)
    with runtime.sessions.begin() as db:
        review = db.get_one(Review, review_id)
        assert review.status == "pending"
        assert [r["code"] for r in review.reasons] == [
            "category_not_covered",
            "recipient_government",
        ]
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "review.opened"))
        assert entry is not None and entry.object_id == review_id
        assert entry.details["decision_id"] == review.decision_id
        assert entry.details["codes"] == ["category_not_covered", "recipient_government"]


def test_only_a_review_outcome_opens_a_review(runtime: Runtime) -> None:
    world = World.make(runtime)
    case = world.case()
    denied = world.decide(case, world.ngo)
    assert denied.outcome is Outcome.deny
    with runtime.sessions.begin() as db, pytest.raises(ValueError, match="review"):
        opening.open_review(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            kind="referral",
            object_id="r1",
            case_id=case,
            requesting_organization_id=world.owner,
            requested_by="user:caseworker",
            decision=denied,
        )


def test_the_queue_reaches_every_level_below(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        policy = runtime.policy
        top = factories.org(db, policy, "IOM Niger", kind="iom_office").id
        middle = factories.org(db, policy, "IOM Agadez", kind="iom_office", parent_id=top).id
        bottom = factories.org(db, policy, "IOM Arlit", kind="iom_office", parent_id=middle).id
    held = {org: held_request(runtime, org) for org in (top, middle, bottom)}
    with runtime.sessions.begin() as db:

        def visible(org: str) -> set[str]:
            items, _ = reviews.get_page(
                db=db,
                keyring=runtime.keyring,
                organization_id=org,
                status=None,
                cursor=None,
                limit=50,
            )
            return {item.id for item in items}

        assert visible(top) == set(held.values())
        assert visible(middle) == {held[middle], held[bottom]}
        assert visible(bottom) == {held[bottom]}
        reviews.get(db=db, review_id=held[bottom], organization_id=top)
        with pytest.raises(NotFound):
            reviews.get(db=db, review_id=held[top], organization_id=bottom)


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        ("user:officer-1@o1", True),
        ("user:officer-1@o1 via client:c1", True),
        ("client:c1", False),
        ("system:hub", False),
    ],
)
def test_sending_back_is_a_persons_act(runtime: Runtime, actor: str, allowed: bool) -> None:
    with runtime.sessions.begin() as db:
        office = factories.org(db, runtime.policy, "IOM Agadez", kind="iom_office").id
    review_id = held_request(runtime, office)
    # officer-1 stands for a real consent officer: deciders are checked by role
    actor = actor.replace("officer-1", consent_officer(runtime, office))
    with runtime.sessions.begin() as db:
        review = db.get_one(Review, review_id)
        if allowed:
            reviews.decide(
                db=db, review=review, actor=actor, outcome="returned", justification="fix it"
            )
        else:
            with pytest.raises(reviews.PersonRequired) as refused:
                reviews.decide(
                    db=db, review=review, actor=actor, outcome="returned", justification="fix it"
                )
            assert (refused.value.status, refused.value.code) == (403, "person_required")
    with runtime.sessions() as db:
        review = db.get_one(Review, review_id)
        assert review.status == ("returned" if allowed else "pending")
        messages = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == DECIDED_TOPIC))
        assert len(list(messages)) == (1 if allowed else 0)
