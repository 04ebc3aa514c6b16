"""A request waiting for a consent officer, so the demo officer's queue is not empty.

Made the real way: a case registered with consent by the demo case worker, then a referral to
the demo NGO that carries health data, which the consent gate holds for review (a sensitive
category). Made once; later runs find it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.cases import service as cases
from hub.cases.models import Case
from hub.cases.schemas import Subject
from hub.clock import utcnow
from hub.consent import service as consents
from hub.consent.schemas import ConsentCreate
from hub.crypto.keyring import KeyEncryptionKeys
from hub.policy.loader import Policy
from hub.referrals import sending
from hub.referrals.schemas import ReferralCreate

REFERENCE = "MRRM-NE-DEMO-0001"


def held_referral(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    actor: str,
    sender_id: str,
    recipient_id: str,
) -> None:
    if db.scalar(
        select(Case.id).where(
            Case.owner_organization_id == sender_id, Case.external_ref == REFERENCE
        )
    ):
        return
    case = cases.create(
        db=db,
        keyring=keyring,
        policy=policy,
        actor=actor,
        owner_organization_id=sender_id,
        external_ref=REFERENCE,
        subject=Subject(birth_date="1999-05-02", sex="female"),
        data={
            "identity": {"given_name": "Aïcha", "family_name": "Demo"},
            "contact": {"phone": "+227 90 00 00 00"},
            "health": {"notes": "Demo: needs follow-up for sleep problems"},
        },
    )
    consents.record(
        db=db,
        keyring=keyring,
        policy=policy,
        actor=actor,
        case=case,
        data=ConsentCreate(
            given_by="subject",
            method="written",
            language="fr",
            purposes=["psychosocial_support"],
            recipients={"organizations": [], "kinds": ["ngo"]},
            categories=["identity", "contact", "health"],
            valid_from=utcnow() - timedelta(days=1),
        ),
    )
    sending.create(
        db=db,
        keyring=keyring,
        policy=policy,
        actor=actor,
        organization_id=sender_id,
        data=ReferralCreate(
            case_id=case.id,
            to_organization_id=recipient_id,
            service_type="psychosocial_support",
            purpose="psychosocial_support",
            urgency="high",
            categories=["identity", "contact", "health"],
            note="Demo: please call before the first visit.",
        ),
    )
