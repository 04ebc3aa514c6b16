"""Requests held for review, made the real way: the gate answers `review` and a review opens."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from hub.cases import service as cases
from hub.cases.schemas import Subject
from hub.clock import utcnow
from hub.consent import gate
from hub.organizations.models import DataSharingAgreement
from hub.reviews import opening
from hub.reviews import service as reviews
from hub.reviews.models import Review
from hub.reviews.schemas import ReviewStatus
from hub.runtime import Runtime
from hub.users import service as users
from tests.support import factories
from tests.support.consent_rows import add_consent


def held_request(
    runtime: Runtime,
    requesting_organization_id: str,
    *,
    requested_by: str = "user:caseworker",
    made_by: str | None = None,
    urgency: str = "normal",
    note: str | None = None,
    birth_date: date = date(1988, 7, 1),
) -> str:
    """A referral from the organisation to a ministry, held because the recipient is a
    government body; returns the review's id (the referral itself is not made)."""
    tag = uuid.uuid4().hex[:10]
    with runtime.sessions.begin() as db:
        policy = runtime.policy
        ministry = factories.org(db, policy, f"Ministry {tag}", kind="government")
        db.add(
            DataSharingAgreement(
                from_organization_id=requesting_organization_id,
                to_organization_id=ministry.id,
                purposes=["legal_assistance"],
                categories=["identity", "legal_status"],
                valid_from=datetime(2020, 1, 1, tzinfo=UTC),
            )
        )
        case = cases.create(
            db=db,
            keyring=runtime.keyring,
            policy=policy,
            actor=requested_by,
            owner_organization_id=requesting_organization_id,
            external_ref=f"REVIEW-{tag}",
            subject=Subject(birth_date=birth_date, sex="male"),
            data={"identity": {"given_name": "Issa"}},
        )
        add_consent(
            db,
            case.id,
            purposes=["legal_assistance"],
            categories=["identity"],
            kinds=["government"],
        )
        decision = gate.decide(
            db=db,
            keyring=runtime.keyring,
            policy=policy,
            case=case,
            recipient=ministry,
            purpose="legal_assistance",
            categories=["identity", "legal_status"],
            at=utcnow(),
            actor=requested_by,
            context="referral",
        )
        assert decision.outcome is gate.Outcome.review, decision.reasons
        review = opening.open_review(
            db=db,
            keyring=runtime.keyring,
            policy=policy,
            made_by=made_by,
            urgency=urgency,
            note=note,
            kind="referral",
            object_id=uuid.uuid4().hex,
            case_id=case.id,
            requesting_organization_id=requesting_organization_id,
            requested_by=requested_by,
            decision=decision,
        )
        return review.id


OFFICER = "user:officer-1@office"
WHY = "Please record a witness for the verbal consent."


def consent_officer(runtime: Runtime, organization_id: str) -> str:
    """A consent officer of the organisation, a person (a console user); returns their id, for
    a client to act for (`On-Behalf-Of`)."""
    with runtime.sessions.begin() as db:
        user = users.create(
            db=db,
            actor="test",
            organization_id=organization_id,
            email=f"officer-{uuid.uuid4().hex[:10]}@example.org",
            password="correct horse battery staple",
            role="consent_officer",
        )
        return user.id


def officer_actor(runtime: Runtime, organization_id: str) -> str:
    """A new consent officer of the organisation, as the actor that names them (decisions are
    checked against the person's role, so the person must exist)."""
    return f"user:{consent_officer(runtime, organization_id)}@{organization_id}"


def _officer_actor(runtime: Runtime, review_id: str) -> str:
    """A real consent officer of the review's requesting organisation, as an actor."""
    with runtime.sessions() as db:
        org = db.get_one(Review, review_id).requesting_organization_id
    return officer_actor(runtime, org)


def officer_returns(
    runtime: Runtime, review_id: str, *, actor: str | None = None, justification: str = WHY
) -> None:
    """A consent officer, a person (`actor` names one, by default a new officer of the
    requesting office: deciding is a person's act), returns the review; the `review.decided`
    message is left for the outbox (drain it)."""
    actor = actor or _officer_actor(runtime, review_id)
    with runtime.sessions.begin() as db:
        reviews.decide(
            db=db,
            review=db.get_one(Review, review_id),
            actor=actor,
            outcome=ReviewStatus.returned,
            justification=justification,
        )


def send_back(runtime: Runtime, review_id: str, *, actor: str | None = None) -> None:
    """A consent officer returns the review, and the requesting flow acts on it (what the
    `review.decided` outbox message does), in one go."""
    actor = actor or _officer_actor(runtime, review_id)
    from hub.lifecycle.decisions import on_review_returned
    from hub.referrals.sending import FLOW as REFERRALS
    from hub.transfers.sending import FLOW as TRANSFERS

    with runtime.sessions.begin() as db:
        review = db.get_one(Review, review_id)
        reviews.decide(
            db=db,
            review=review,
            actor=actor,
            outcome=ReviewStatus.returned,
            justification=WHY,
        )
        flow = REFERRALS if review.kind == "referral" else TRANSFERS
        on_review_returned(db=db, keyring=runtime.keyring, flow=flow, review_id=review_id)
