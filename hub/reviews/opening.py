"""Opening a review: a request the consent gate held for a consent officer.

The flow that asked the gate (a referral or a transfer, at creation or on resubmission) opens
it when the gate answered `review`. The review keeps what the officer decides on and what the
queue is ordered by, as it stood when the request was held: the urgency, the subject's age band
(cut at the policy's child ages), the requester's note (sealed with the case's data key) and
the time limit by urgency (policy `reviews:`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.cases import service as cases
from hub.cases.ages import youngest_age
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent.gate import Decision, Outcome
from hub.crypto.envelope import decrypt, encrypt
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.base import new_id
from hub.legal_bases import invocation
from hub.notifications import service as notifications
from hub.notifications.service import Parties
from hub.policy.loader import Policy
from hub.policy.rules import Audience, age_band
from hub.reviews.models import Review
from hub.reviews.schemas import ReviewKind, ReviewStatus

REVIEWS = "reviews"
NOTE_FIELD = "note"
# a transfer has no urgency of its own
DEFAULT_URGENCY = "normal"
# the consent officers who approve a request on a legal basis other than consent
BASIS_OFFICERS = 2


def _age_band(db: Session, keyring: KeyEncryptionKeys, policy: Policy, case: Case) -> str:
    if case.erased_at is not None:
        return age_band(policy.children, None)
    subject = cases.read_subject(db=db, keyring=keyring, case=case)
    return age_band(policy.children, youngest_age(subject, utcnow().date()))


def open_note(key: bytes | None, review: Review) -> str | None:
    """The note as held, or None (none given, or the case erased: `key` None)."""
    if key is None or review.note_ciphertext is None:
        return None
    plain = decrypt(key, review.note_ciphertext, table=REVIEWS, row=review.id, field=NOTE_FIELD)
    return plain.decode("utf-8")


def open_review(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    kind: str,
    object_id: str,
    case_id: str,
    requesting_organization_id: str,
    requested_by: str,
    decision: Decision,
    made_by: str | None = None,
    urgency: str = DEFAULT_URGENCY,
    note: str | None = None,
    basis_justification: str | None = None,
) -> Review:
    """Hold a request the gate answered `review` for, until a consent officer decides.

    `requested_by` asked for it now (its maker, or whoever resubmitted it); `made_by` made
    the referral or transfer (the requester when not given). Neither may decide it.

    A decision on a legal basis (`hub.policy.legal_bases`) needs two officers' approvals, is
    timed (and queued) by the basis's `review_urgency` when it sets one, and keeps the
    requester's `basis_justification` (sealed) for the officers.
    """
    if decision.outcome is not Outcome.review:
        raise ValueError("only a decision with outcome review is reviewed")
    if decision.case_id != case_id:
        raise ValueError("the decision is about another case")
    case = db.get_one(Case, case_id)
    now = utcnow()
    basis = policy.legal_bases.get(decision.legal_basis)
    if basis is not None and basis.review_urgency is not None:
        urgency = basis.review_urgency
    review = Review(
        id=new_id(),
        kind=ReviewKind(kind).value,
        object_id=object_id,
        case_id=case_id,
        requesting_organization_id=requesting_organization_id,
        requested_by=requested_by,
        made_by=made_by or requested_by,
        decision_id=decision.id,
        reasons=list(decision.reasons),
        status=ReviewStatus.pending.value,
        created_at=now,
        urgency=urgency,
        age_band=_age_band(db, keyring, policy, case),
        due_at=now + policy.reviews.window(urgency).deadline,
        legal_basis=decision.legal_basis,
        officers_required=BASIS_OFFICERS if basis is not None else 1,
    )
    key = cases.live_key(db=db, keyring=keyring, case_id=case_id)
    if key is not None and note and note.strip():
        review.note_ciphertext = encrypt(
            key, note.encode("utf-8"), table=REVIEWS, row=review.id, field=NOTE_FIELD
        )
    if key is not None and basis is not None and basis_justification:
        review.basis_justification_ciphertext = invocation.seal(
            key, table=REVIEWS, row=review.id, justification=basis_justification
        )
    db.add(review)
    # flushed before the audit entry and the request that refer to it by id
    db.flush()
    record(
        db,
        actor=requested_by,
        action="review.opened",
        object_type="review",
        object_id=review.id,
        details={
            "kind": review.kind,
            "object_id": object_id,
            "case_id": case_id,
            "decision_id": decision.id,
            "codes": decision.codes,
            "urgency": urgency,
            "due_at": review.due_at.isoformat() if review.due_at else None,
            "legal_basis": review.legal_basis,
        },
    )
    if basis is not None:
        # a disclosure without consent waits for two officers: they are told in person at once
        # (the queue alone could leave an emergency unseen), and at each step of its time limit
        tell_officers(db, review, "held")
    return review


def tell_officers(db: Session, review: Review, step: str) -> None:
    """Notify the consent officers who are to decide a review on a legal basis (those of the
    office it was escalated to, once it was)."""
    office = review.escalated_to_organization_id or review.requesting_organization_id
    notifications.announce(
        db,
        audiences=(Audience.sender_consent_officers,),
        object_type="review",
        object_id=review.id,
        step=step,
        stage=None,
        parties=Parties(
            sender_organization_id=office, recipient_organization_id=office, made_by=None
        ),
    )
