"""A referral sent back for correction by a consent officer, and its resubmission
(`hub.lifecycle.resubmission`, written once for referrals and transfers).

The sender may amend the referral's note, categories or purpose; the gate is then asked again
exactly as when a referral is made (`sending.ask_gate` and `sending.hold`): permit → `sent`;
review → a new review; deny → `denied` with reason `consent_denied`, and nothing leaves.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.api import vocabulary
from hub.cases import service as cases
from hub.consent.gate import Decision
from hub.crypto.keyring import KeyEncryptionKeys
from hub.lifecycle import resubmission
from hub.policy.loader import Policy
from hub.referrals import sending, service
from hub.referrals.lifecycle import MOVES
from hub.referrals.models import Referral
from hub.referrals.schemas import ReferralResubmit


def _ask(
    db: Session, keyring: KeyEncryptionKeys, policy: Policy, referral: Referral, actor: str
) -> Decision:
    # the categories asked for (perhaps amended), not those the last decision permitted
    return sending.FLOW.ask_again(
        db,
        keyring,
        policy,
        referral,
        actor,
        resubmission.CONTEXT,
        categories=referral.requested_categories,
    )


def _hold(
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    decision: Decision,
    actor: str,
) -> bool:
    note = sending.current_note(db, keyring, referral)
    return sending.hold(
        db=db,
        keyring=keyring,
        policy=policy,
        referral=referral,
        decision=decision,
        actor=actor,
        note=note,
    )


RETURNED = resubmission.Resubmitted(
    table=MOVES,
    object_type=service.OBJECT_TYPE,
    ask=_ask,
    hold=_hold,
    release=sending.FLOW.release,
)


def resubmit(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    actor: str,
    organization_id: str,
    data: ReferralResubmit,
) -> Decision:
    """Resubmit a returned referral (resolve and lock it with `service.get` first): 409
    `invalid_transition` unless it is `returned` and the caller its sender. Returns the gate's
    decision; the referral is then `sent`, `pending_review` or `denied`."""

    def amend() -> None:
        if data.purpose is not None:
            vocabulary.check(policy, "purposes", data.purpose, field="purpose")
            referral.purpose = data.purpose
        if data.categories is not None:
            vocabulary.check(policy, "data_categories", data.categories, field="categories")
            referral.requested_categories = sorted(set(data.categories))
        if data.note is not None:
            key = cases.live_key(db=db, keyring=keyring, case_id=referral.case_id)
            text = data.note.strip()
            referral.note_ciphertext = (
                service.seal_note(key, referral.id, text) if text and key is not None else None
            )

    return resubmission.resubmit(
        db=db,
        keyring=keyring,
        policy=policy,
        kind=RETURNED,
        held=referral,
        party=service.party_of(referral, organization_id),
        actor=actor,
        organization_id=organization_id,
        amend=amend,
    )
