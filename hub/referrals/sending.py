"""Making a referral and sending it, through the consent gate.

`create` asks the gate: permit → the referral is sent now; review → it is held (a review is
opened) until a consent officer decides (`hub.lifecycle.decisions`, from the `review.decided`
outbox message, with this module's `FLOW`), and the gate is asked again then; deny → nothing
is stored but the gate's decision and an audit entry `referral.refused`, and nothing leaves.

Sending takes a snapshot of exactly the permitted categories of the case, seals it with the
case's data key (erasing the case erases it) with its keyed digest (HMAC-SHA256 under the
case's hash key: no brute force of a short value once the key is shredded), sets the
acknowledgement deadline from the policy, and queues its delivery (`hub.delivery`: the
recipient's channel).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from hub.api import vocabulary
from hub.audit.service import record as audit
from hub.cases import service as cases
from hub.cases.ages import youngest_age
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent import gate
from hub.consent.answers import STOPPED, Answer, meaning
from hub.consent.gate import Decision
from hub.crypto.envelope import (
    CiphertextInvalid,
    decrypt,
    digest_matches,
    encrypt,
    hash_key,
    keyed_digest,
)
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.base import new_id
from hub.db.inserts import insert_loaded
from hub.disclosures.service import canonical
from hub.legal_bases import invocation
from hub.lifecycle import Party, history
from hub.organizations import service as organizations
from hub.organizations.models import Organization
from hub.policy.legal_bases import CONSENT
from hub.policy.loader import Policy
from hub.policy.rules import report_age_band
from hub.referrals import service
from hub.referrals.lifecycle import PENDING_REVIEW, SENT
from hub.referrals.models import Referral
from hub.referrals.schemas import (
    ReferralCreate,
    ReferralCreated,
)
from hub.reviews.opening import open_review
from hub.service_directory import service as directory

SNAPSHOT_FIELD = "snapshot"

# The delivery workflow (`hub.delivery`, a layer up) starts the referral's delivery in the sending
# transaction through the hook `hub.wiring` installs here (`hub.delivery.service.install`), so the
# requests never import it. None registered is a wiring fault, raised, never a referral left
# silently undelivered.
StartDelivery = Callable[[Session, Referral], None]
_start_delivery: list[StartDelivery] = []


def on_sent(start: StartDelivery) -> StartDelivery:
    """Register what starts a delivery (the delivery workflow's, once)."""
    _start_delivery[:] = [start]
    return start


def start_delivery(db: Session, referral: Referral) -> None:
    """Start the referral's delivery, in the caller's transaction."""
    if not _start_delivery:
        raise RuntimeError("no delivery workflow installed: see hub.wiring")
    _start_delivery[0](db, referral)


def check_request(db: Session, policy: Policy, data: ReferralCreate, sender: str) -> Organization:
    vocabulary.check(policy, "service_types", data.service_type, field="service_type")
    vocabulary.check(policy, "purposes", data.purpose, field="purpose")
    vocabulary.check(policy, "data_categories", data.categories, field="categories")
    vocabulary.check_values(
        field="urgency",
        vocabulary="urgencies",
        allowed=vocabulary.urgencies(policy),
        values=data.urgency,
    )
    return organizations.check_recipient(
        db=db, recipient_id=data.to_organization_id, sender_id=sender, what="refer a case"
    )


def create(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    actor: str,
    organization_id: str,
    data: ReferralCreate,
) -> tuple[Referral | None, Decision]:
    """Ask the gate and act on its answer; the referral is None when the gate denied it."""
    recipient = check_request(db, policy, data, organization_id)
    # 404, 409 `case_closed`: the check every new request passes
    case = cases.open_for_requests(db=db, case_id=data.case_id, organization_id=organization_id)
    overridden = (
        check_service(db=db, keyring=keyring, case=case, data=data)
        if data.service_id is not None
        else []
    )
    legal_basis = check_basis(db=db, policy=policy, data=data, actor=actor, sender=organization_id)
    decision = ask_gate(
        db=db,
        keyring=keyring,
        policy=policy,
        case=case,
        recipient=recipient,
        purpose=data.purpose,
        categories=data.categories,
        actor=actor,
        context="referral",
        legal_basis=legal_basis,
    )
    if meaning(policy, decision) in STOPPED:
        audit(
            db,
            actor=actor,
            action="referral.refused",
            object_type="case",
            object_id=case.id,
            details={
                "decision_id": decision.id,
                "from_organization_id": organization_id,
                "recipient_organization_id": recipient.id,
                "service_type": data.service_type,
                "purpose": data.purpose,
                "codes": decision.codes,
                "legal_basis": legal_basis,
            },
        )
        return None, decision

    referral_id = new_id()
    now = utcnow()
    # for reports: the gate has just read the subject (the case's key is unwrapped once per
    # transaction), so this reads nothing more from the database
    subject = cases.read_subject(db=db, keyring=keyring, case=case)
    note = justification = None
    if (data.note and data.note.strip()) or legal_basis != CONSENT:
        key = cases.live_key(db=db, keyring=keyring, case_id=case.id)
        if key is not None and data.note and data.note.strip():
            note = service.seal_note(key, referral_id, data.note)
        if key is not None and legal_basis != CONSENT and data.basis_justification:
            justification = invocation.seal(
                key,
                table=service.REFERRALS,
                row=referral_id,
                justification=data.basis_justification,
            )
    referral = Referral(
        id=referral_id,
        case_id=case.id,
        from_organization_id=organization_id,
        to_organization_id=recipient.id,
        service_type=data.service_type,
        purpose=data.purpose,
        urgency=data.urgency,
        requested_categories=sorted(set(data.categories)),
        categories=list(decision.permitted_categories),
        withheld_categories=list(decision.withheld_categories),
        consent_ids=list(decision.consent_ids),
        decision_id=decision.id,
        status=PENDING_REVIEW,
        note_ciphertext=note,
        legal_basis=legal_basis,
        basis_justification_ciphertext=justification,
        subject_sex=subject.sex,
        subject_age_band=report_age_band(youngest_age(subject, now.date())),
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    if data.service_id is not None:
        record_service(db, keyring, referral, data, overridden, actor)
    if meaning(policy, decision) is Answer.review:
        # written first: the review it is held for refers to it. A referral that is sent is
        # written once, complete, by `send` (no INSERT then UPDATEs)
        db.add(referral)
        db.flush()
    if not hold(
        db=db,
        keyring=keyring,
        policy=policy,
        referral=referral,
        decision=decision,
        actor=actor,
        note=data.note,
        basis_justification=data.basis_justification,
    ):
        referral.status = SENT
        send(db=db, keyring=keyring, policy=policy, referral=referral, decision=decision)
    history.record_event(
        db=db,
        key=None,
        object_type=service.OBJECT_TYPE,
        object_id=referral.id,
        actor=actor,
        organization_id=organization_id,
        from_status=None,
        to_status=referral.status,
    )
    audit(
        db,
        actor=actor,
        action="referral.created",
        object_type=service.OBJECT_TYPE,
        object_id=referral.id,
        details={
            "case_id": case.id,
            "recipient_organization_id": recipient.id,
            "status": referral.status,
            "decision_id": decision.id,
            "review_id": referral.review_id,
            "categories": referral.categories,
            "withheld_categories": referral.withheld_categories,
            "legal_basis": referral.legal_basis,
        },
    )
    return referral, decision


def check_basis(
    *, db: Session, policy: Policy, data: ReferralCreate, actor: str, sender: str
) -> str:
    """What the referral rests on: consent, or a legal basis the requester may invoke
    (`hub.legal_bases.invocation`: 403 and 422 otherwise)."""
    return invocation.basis_of(
        db=db,
        policy=policy,
        legal_basis=data.legal_basis,
        justification=data.basis_justification,
        actor=actor,
        organization_id=sender,
    )


OVERRIDE_FIELD = "override_reason"


def check_service(
    *, db: Session, keyring: KeyEncryptionKeys, case: Case, data: ReferralCreate
) -> list[str]:
    """The directory's rules the referral's service breaks and the sender overrides (422 when
    it breaks one and no `override_reason` is given): the subject's age and sex are read for
    it, never shown."""
    assert data.service_id is not None
    subject = cases.read_subject(db=db, keyring=keyring, case=case)
    return directory.check_referral(
        db=db,
        service_id=data.service_id,
        recipient_id=data.to_organization_id,
        service_type=data.service_type,
        age=youngest_age(subject, utcnow().date()),
        sex=subject.sex,
        overridden=bool(data.override_reason and data.override_reason.strip()),
    )


def record_service(
    db: Session,
    keyring: KeyEncryptionKeys,
    referral: Referral,
    data: ReferralCreate,
    overridden: list[str],
    actor: str,
) -> None:
    """The service on the referral; an override with its reason sealed, and audited (codes)."""
    referral.service_id = data.service_id
    if not overridden:
        return
    referral.service_override = overridden
    key = cases.live_key(db=db, keyring=keyring, case_id=referral.case_id)
    if key is not None and data.override_reason:
        referral.override_reason_ciphertext = encrypt(
            key,
            data.override_reason.encode("utf-8"),
            table=service.REFERRALS,
            row=referral.id,
            field=OVERRIDE_FIELD,
        )
    audit(
        db,
        actor=actor,
        action="referral.service_overridden",
        object_type=service.OBJECT_TYPE,
        object_id=referral.id,
        details={"service_id": data.service_id, "codes": overridden},
    )


def open_override_reason(key: bytes | None, referral: Referral) -> str | None:
    if key is None or referral.override_reason_ciphertext is None:
        return None
    plain = decrypt(
        key,
        referral.override_reason_ciphertext,
        table=service.REFERRALS,
        row=referral.id,
        field=OVERRIDE_FIELD,
    )
    return plain.decode("utf-8")


def ask_gate(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    case: Case,
    recipient: Organization,
    purpose: str,
    categories: list[str],
    actor: str,
    context: str,
    legal_basis: str = CONSENT,
) -> Decision:
    """The consent gate, asked for a referral being made (`referral`) or resubmitted
    (`resubmitted`), on the legal basis it rests on."""
    return gate.decide(
        db=db,
        keyring=keyring,
        policy=policy,
        case=case,
        recipient=recipient,
        purpose=purpose,
        categories=categories,
        at=utcnow(),
        actor=actor,
        context=context,
        legal_basis=legal_basis,
    )


def hold(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    decision: Decision,
    actor: str,
    note: str | None,
    basis_justification: str | None = None,
) -> bool:
    """Act on the gate's permit or review for a referral being made or resubmitted (status
    `pending_review`): records what the gate decided, and on `review` opens a review (by
    `actor`, with the `note` as it stands) and answers True: the referral stays held. On
    `permit` answers False: the caller moves it to `sent` and calls `send`."""
    if meaning(policy, decision) in STOPPED:
        raise ValueError("a denied referral is neither held nor sent")
    referral.categories = list(decision.permitted_categories)
    referral.withheld_categories = list(decision.withheld_categories)
    referral.consent_ids = list(decision.consent_ids)
    referral.decision_id = decision.id
    if meaning(policy, decision) is not Answer.review:
        return False
    review = open_review(
        db=db,
        keyring=keyring,
        policy=policy,
        kind="referral",
        object_id=referral.id,
        case_id=referral.case_id,
        requesting_organization_id=referral.from_organization_id,
        requested_by=actor,
        made_by=referral.created_by,
        decision=decision,
        urgency=referral.urgency,
        note=note,
        basis_justification=basis_justification,
    )
    referral.review_id = review.id
    referral.updated_at = utcnow()
    return True


def current_note(db: Session, keyring: KeyEncryptionKeys, referral: Referral) -> str | None:
    """The referral's note as it stands (None once the case is erased)."""
    if referral.note_ciphertext is None:
        return None
    key = cases.live_key(db=db, keyring=keyring, case_id=referral.case_id)
    return service.open_note(key, referral)


def basis_justification(db: Session, keyring: KeyEncryptionKeys, referral: Referral) -> str | None:
    """Why the sender invoked the referral's legal basis (None: consent, or the case erased)."""
    if referral.basis_justification_ciphertext is None:
        return None
    key = cases.live_key(db=db, keyring=keyring, case_id=referral.case_id)
    return invocation.unseal(
        key, referral.basis_justification_ciphertext, table=service.REFERRALS, row=referral.id
    )


def created(referral: Referral, decision: Decision) -> ReferralCreated:
    """The answer to POST /v1/referrals (the sender's view; ids and codes only)."""
    fields = service.summary_fields(referral, Party.sender, utcnow())
    return ReferralCreated(**fields, reasons=list(decision.reasons))


def send(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    decision: Decision,
) -> None:
    """Release a referral the gate permitted: snapshot, deadline, delivery (status already
    `sent`, set by the caller's creation or move)."""
    case = db.get_one(Case, referral.case_id)
    key = cases.live_key(db=db, keyring=keyring, case_id=case.id)
    if key is None:
        raise cases.CaseErased()
    now = utcnow()
    referral.categories = list(decision.permitted_categories)
    referral.withheld_categories = [
        c for c in referral.requested_categories if c not in decision.permitted_categories
    ]
    referral.consent_ids = list(decision.consent_ids)
    referral.decision_id = decision.id
    # exactly the permitted categories (those of them the case holds): data minimisation
    snapshot = cases.read_data(
        db=db, keyring=keyring, case=case, categories=decision.permitted_categories
    )
    plain = canonical(snapshot)
    referral.snapshot_sha256 = keyed_digest(hash_key(key), plain)
    referral.snapshot_ciphertext = encrypt(
        key, plain, table=service.REFERRALS, row=referral.id, field=SNAPSHOT_FIELD
    )
    referral.sent_at = now
    referral.acknowledge_by = now + policy.acknowledgement.window(referral.urgency).deadline
    referral.updated_at = now
    # complete now: written (one INSERT, or the UPDATE of a referral a review held) before
    # the delivery that refers to it, which may make no query that would flush it
    if inspect(referral).transient:
        insert_loaded(db, referral)
    else:
        db.add(referral)
        db.flush()
    start_delivery(db, referral)


def open_snapshot(key: bytes, referral: Referral) -> dict[str, Any]:
    """The sealed snapshot, checked against the digest taken when it was made (a bare SHA-256
    in snapshots made before digests were keyed)."""
    if referral.snapshot_ciphertext is None:
        return {}
    plain = decrypt(
        key,
        referral.snapshot_ciphertext,
        table=service.REFERRALS,
        row=referral.id,
        field=SNAPSHOT_FIELD,
    )
    expected = referral.snapshot_sha256 or ""
    legacy = hmac.compare_digest(hashlib.sha256(plain).hexdigest(), expected)
    if not (digest_matches(hash_key(key), plain, expected) or legacy):
        raise CiphertextInvalid(f"snapshot of referral {referral.id} does not match its hash")
    value: dict[str, Any] = json.loads(plain)
    return value


def locked(db: Session, referral_id: str) -> Referral | None:
    return db.scalar(select(Referral).where(Referral.id == referral_id).with_for_update())


class ReferralFlow:
    """Referrals as a consent officer's decision moves them (`hub.lifecycle.decisions`)."""

    kind = "referral"

    def locked(self, db: Session, object_id: str) -> Referral | None:
        return locked(db, object_id)

    def ask_again(
        self,
        db: Session,
        keyring: KeyEncryptionKeys,
        policy: Policy,
        held: Referral,
        actor: str,
        context: str,
        *,
        categories: Sequence[str] | None = None,
    ) -> Decision:
        """The gate's answer for the held referral now; for `categories` if given (a
        resubmission asks for those requested, perhaps amended), else those it holds."""
        return ask_gate(
            db=db,
            keyring=keyring,
            policy=policy,
            case=db.get_one(Case, held.case_id),
            recipient=db.get_one(Organization, held.to_organization_id),
            purpose=held.purpose,
            categories=list(held.categories if categories is None else categories),
            actor=actor,
            context=context,
            legal_basis=held.legal_basis,
        )

    def move(
        self,
        db: Session,
        keyring: KeyEncryptionKeys,
        held: Referral,
        action: str,
        party: Party,
        actor: str,
        reason_code: str | None,
    ) -> None:
        service.move(
            db=db,
            keyring=keyring,
            referral=held,
            action=action,
            party=party,
            actor=actor,
            organization_id=None,
            reason_code=reason_code,
        )

    def record(self, held: Referral, decision: Decision) -> None:
        # what goes with it is set when it is sent (`send`)
        held.decision_id = decision.id

    def review_details(
        self, db: Session, keyring: KeyEncryptionKeys, held: Referral
    ) -> dict[str, Any]:
        return {
            "urgency": held.urgency,
            "note": current_note(db, keyring, held),
            "basis_justification": basis_justification(db, keyring, held),
        }

    def release(
        self,
        db: Session,
        keyring: KeyEncryptionKeys,
        policy: Policy,
        held: Referral,
        decision: Decision,
    ) -> None:
        send(db=db, keyring=keyring, policy=policy, referral=held, decision=decision)


FLOW = ReferralFlow()
