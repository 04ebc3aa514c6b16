"""A referral sent back for correction by a consent officer, and its resubmission.

Returned: the officer's `return` (a `review.decided` outbox message with outcome `returned`)
moves the held referral to `returned`; nothing is sent. The sender reads why in the referral
(`review`), then resubmits it (amending its note, categories or purpose if it likes) or
cancels it.

Resubmitted: the gate is asked again exactly as when a referral is made (`sending.ask_gate`
and `sending.hold`): permit → `sent`; review → a new review is opened, requested by whoever
resubmitted it; deny → `denied` with reason `consent_denied`, and nothing leaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hub import lifecycle
from hub.cases import service as cases
from hub.cases.models import Case
from hub.consent.answers import STOPPED, meaning
from hub.consent.gate import Decision
from hub.crypto.keyring import KeyEncryptionKeys
from hub.lifecycle import Party, reasons
from hub.organizations.models import Organization
from hub.policy import vocabulary
from hub.policy.loader import Policy
from hub.referrals import sending, service
from hub.referrals.lifecycle import MOVES
from hub.referrals.models import Referral
from hub.referrals.schemas import ReferralResubmit

if TYPE_CHECKING:
    pass


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
    party = service.party_of(referral, organization_id)
    # before anything changes: only the sender, only a returned referral
    lifecycle.check(MOVES, "resubmit", status=referral.status, party=party, reason=None)
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
    service.move(
        db=db,
        keyring=keyring,
        referral=referral,
        action="resubmit",
        party=party,
        actor=actor,
        organization_id=organization_id,
    )
    decision = sending.ask_gate(
        db=db,
        keyring=keyring,
        policy=policy,
        case=db.get_one(Case, referral.case_id),
        recipient=db.get_one(Organization, referral.to_organization_id),
        purpose=referral.purpose,
        categories=list(referral.requested_categories),
        actor=actor,
        context="resubmitted",
    )
    if meaning(policy, decision) in STOPPED:
        referral.decision_id = decision.id
        # the gate's answer, not an officer's: the hub makes this move
        service.move(
            db=db,
            keyring=keyring,
            referral=referral,
            action="deny",
            party=Party.reviewer,
            actor=reasons.SYSTEM_ACTOR,
            organization_id=None,
            reason_code=reasons.CONSENT_DENIED,
        )
        return decision
    note = sending.current_note(db, keyring, referral)
    if not sending.hold(
        db=db,
        keyring=keyring,
        policy=policy,
        referral=referral,
        decision=decision,
        actor=actor,
        note=note,
    ):
        service.move(
            db=db,
            keyring=keyring,
            referral=referral,
            action="release",
            party=Party.system,
            actor=reasons.SYSTEM_ACTOR,
            organization_id=None,
        )
        sending.send(db=db, keyring=keyring, policy=policy, referral=referral, decision=decision)
    return decision
