"""Referrals for the authorization matrix (tests/support/route_scenarios.py).

The matrix calls every route as `ctx.owner` and expects `ctx.other` to get 404, so each
referral here is between `ctx.owner` and a fresh third organisation: `ctx.owner` is the sender
for the sender's routes and the recipient for the recipient's moves. Built with the services in
one transaction (no extra OAuth clients), then moved through the API by the recipient.
"""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from hub.cases import service as cases
from hub.cases.schemas import Subject
from hub.referrals import sending
from hub.referrals.schemas import ReferralCreate
from hub.runtime import Runtime
from tests.support import factories
from tests.support.api import Partner
from tests.support.consent_rows import add_consent
from tests.support.reviews import send_back

PURPOSE = "psychosocial_support"


def new_org(runtime: Runtime, name: str) -> str:
    with runtime.sessions.begin() as db:
        return factories.org(db, runtime.policy, name, kind="ngo").id


def referrable_case(runtime: Runtime, owner: str, recipient: str, name: str) -> str:
    """A case of `owner` with a consent and an agreement that let it be referred to
    `recipient` (an NGO or an IOM office)."""
    policy = runtime.policy
    with runtime.sessions.begin() as db:
        case = cases.create(
            db=db,
            keyring=runtime.keyring,
            policy=policy,
            actor="test",
            owner_organization_id=owner,
            external_ref=name,
            subject=Subject(birth_date=date(1990, 4, 2), sex="female"),
            data={"identity": {"given_name": "Canary", "family_name": "Matrix"}},
        )
        add_consent(db, case.id, categories=["identity"], kinds=["ngo", "iom_office"])
        factories.agreement(db, policy, owner, recipient, [PURPOSE], ["identity"])
        return case.id


def body(case_id: str, to: str) -> dict[str, object]:
    return {
        "case_id": case_id,
        "to_organization_id": to,
        "service_type": PURPOSE,
        "purpose": PURPOSE,
        "urgency": "high",
        "categories": ["identity"],
    }


def sent_referral(
    runtime: Runtime,
    api: TestClient,
    owner: Partner,
    name: str,
    *,
    owner_receives: bool,
    moves: tuple[str, ...] = (),
) -> str:
    """A referral sent from `owner` to a new NGO, or (`owner_receives`) the other way round,
    then moved by its recipient through `moves`."""
    third = new_org(runtime, f"{name} party")
    sender, recipient = (
        (third, owner.organization_id) if owner_receives else (owner.organization_id, third)
    )
    case_id = referrable_case(runtime, sender, recipient, name)
    policy = runtime.policy
    with runtime.sessions.begin() as db:
        referral, _ = sending.create(
            db=db,
            keyring=runtime.keyring,
            policy=policy,
            actor="test",
            organization_id=sender,
            data=ReferralCreate.model_validate(body(case_id, recipient)),
        )
        assert referral is not None and referral.status == "sent"
        referral_id = referral.id
    for action in moves:
        assert owner_receives, "only the recipient moves a referral forward"
        moved = api.post(f"/v1/referrals/{referral_id}/{action}", json={}, headers=owner.headers)
        assert moved.status_code == 200, moved.text
    return referral_id


def returned_referral(runtime: Runtime, owner: str, name: str) -> str:
    """A referral from `owner` to a new NGO, held for review (a verbal consent without a
    witness) and sent back by a consent officer: `returned`, for its sender to resubmit."""
    recipient = new_org(runtime, f"{name} party")
    policy = runtime.policy
    with runtime.sessions.begin() as db:
        case = cases.create(
            db=db,
            keyring=runtime.keyring,
            policy=policy,
            actor="test",
            owner_organization_id=owner,
            external_ref=name,
            subject=Subject(birth_date=date(1990, 4, 2), sex="female"),
            data={"identity": {"given_name": "Canary", "family_name": "Matrix"}},
        )
        add_consent(db, case.id, categories=["identity"], kinds=["ngo"], method="verbal")
        factories.agreement(db, policy, owner, recipient, [PURPOSE], ["identity"])
        referral, _ = sending.create(
            db=db,
            keyring=runtime.keyring,
            policy=policy,
            actor="user:caseworker@matrix",
            organization_id=owner,
            data=ReferralCreate.model_validate(body(case.id, recipient)),
        )
        assert referral is not None and referral.review_id is not None, referral
        referral_id, review_id = referral.id, referral.review_id
    send_back(runtime, review_id)
    return referral_id
