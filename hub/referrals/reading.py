"""The recipient reads a referral: its data comes out only if the consent gate says so now.

Each read with the payload asks the gate again (context `read`) for the categories sent:
- permit → the payload is the snapshot restricted to the categories still permitted, with the
  sender's note; the release is accounted for (a Disclosure row and its audit entry);
- review → the payload is given only when an approved review of this referral already covered
  every trigger the gate raises now (a consent officer said yes to exactly this); otherwise no
  payload (`review_required`) until someone looks at it again;
- deny, or a consent the referral rests on withdrawn since → no payload; a referral not yet
  acknowledged is then cancelled with reason `consent_withdrawn` (a withdrawal), the hub's move.
A closed referral (declined, completed, cancelled, failed) carries no payload any more.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.cases import service as cases
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent import data_life, gate
from hub.consent.answers import Answer, any_withdrawn, meaning
from hub.consent.gate import Decision
from hub.crypto.keyring import KeyEncryptionKeys
from hub.disclosures import service as disclosures
from hub.legal_bases import notices
from hub.lifecycle import Party, history, reasons
from hub.lifecycle.schemas import EventRead
from hub.organizations.models import Organization
from hub.policy.legal_bases import CONSENT, LegalBasisRule
from hub.policy.loader import Policy
from hub.policy.rules import Reason
from hub.referrals import sending, service
from hub.referrals.lifecycle import (
    ACCEPTED,
    ACKNOWLEDGED,
    DELIVERED,
    IN_PROGRESS,
    SENT,
    WITHDRAWABLE,
)
from hub.referrals.models import Referral
from hub.referrals.schemas import ReferralRead
from hub.reviews.coverage import approved_for
from hub.reviews.service import latest_outcome

# while the service is being arranged or given; closed referrals keep their history only
OPEN = frozenset({SENT, DELIVERED, ACKNOWLEDGED, ACCEPTED, IN_PROGRESS})


@dataclass(frozen=True)
class Released:
    payload: dict[str, dict[str, Any]] | None
    note: str | None
    withheld: list[dict[str, Any]] | None
    decision_id: str | None = None
    consent_ids: tuple[str, ...] = ()
    # why the sender overrode the service's rules (the directory), released like the note
    override_reason: str | None = None
    # data life: by when the recipient must have erased what it was given (once accounted for)
    erase_by: datetime | None = None
    # what it rests on: `consent`, or a legal basis of the policy (with its rule)
    legal_basis: str = CONSENT
    basis: LegalBasisRule | None = None

    def erase_by_at(self, db: Session, at: datetime) -> datetime | None:
        """The erase-by date of a disclosure of this release made at `at`: the shortest data
        life of the consents it rests on, or the legal basis's."""
        if self.legal_basis != CONSENT:
            life = self.basis.data_life if self.basis is not None else None
            return life.after(at) if life is not None else None
        return data_life.erase_by(db=db, consent_ids=self.consent_ids, at=at)

    @property
    def releases_data(self) -> bool:
        return bool(self.payload or self.note or self.override_reason)


def _withheld(*codes: str, **details: Any) -> Released:
    return Released(None, None, [{"code": code, **details} for code in codes])


def _withdrawn(
    db: Session, keyring: KeyEncryptionKeys, referral: Referral, decision_id: str | None
) -> Released:
    # locked and read afresh: two reads at once cancel it once
    db.refresh(referral, with_for_update=True)
    if referral.status in WITHDRAWABLE:
        service.move(
            db=db,
            keyring=keyring,
            referral=referral,
            action="withdraw_consent",
            party=Party.system,
            actor=reasons.SYSTEM_ACTOR,
            organization_id=None,
            reason_code=reasons.CONSENT_WITHDRAWN,
        )
    details = {"decision_id": decision_id} if decision_id else {}
    return _withheld(Reason.consent_withdrawn.value, **details)


def _consult(
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    actor: str,
    context: str,
) -> tuple[Decision | None, Released | None]:
    """The gate's decision for the recipient now, or what is withheld and why (see the
    module: a withdrawal found here cancels a referral not yet acknowledged)."""
    if any_withdrawn(db, referral.consent_ids):
        return None, _withdrawn(db, keyring, referral, None)
    case = db.get_one(Case, referral.case_id)
    decision = gate.decide(
        db=db,
        keyring=keyring,
        policy=policy,
        case=case,
        recipient=db.get_one(Organization, referral.to_organization_id),
        purpose=referral.purpose,
        categories=referral.categories,
        at=utcnow(),
        actor=actor,
        context=context,
        legal_basis=referral.legal_basis,
    )
    answer = meaning(policy, decision, approved=approved_for(db, referral.review_id))
    if answer is Answer.withdrawn:
        return None, _withdrawn(db, keyring, referral, decision.id)
    if answer is Answer.denied:
        return None, _withheld("consent_denied", decision_id=decision.id, codes=decision.codes)
    if answer is Answer.review:
        return None, _withheld("review_required", decision_id=decision.id, codes=decision.codes)
    return decision, None


def evaluate(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    actor: str,
    context: str = "read",
) -> Released:
    """What the recipient may have of the referral's data at this moment (see the module),
    without accounting for it: the caller records the disclosure once the data has left."""
    if referral.status not in OPEN:
        return _withheld("referral_closed")
    decision, withheld = _consult(db, keyring, policy, referral, actor, context)
    if withheld is not None or decision is None:
        return withheld or _withheld("consent_denied")
    key = cases.live_key(db=db, keyring=keyring, case_id=referral.case_id)
    if key is None:
        return _withheld("case_erased")
    snapshot = sending.open_snapshot(key, referral)
    permitted = set(decision.permitted_categories)
    payload = {category: data for category, data in snapshot.items() if category in permitted}
    note = service.open_note(key, referral)
    return Released(
        payload,
        note,
        None,
        decision.id,
        tuple(decision.consent_ids),
        sending.open_override_reason(key, referral),
        legal_basis=decision.legal_basis,
        basis=policy.legal_bases.get(decision.legal_basis),
    )


def events(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    organization_id: str,
    actor: str,
) -> list[EventRead]:
    """The referral's history as the caller sees it (resolve it with `service.get` first).

    The sender's free text in events (a cancellation's reason, say) is its words about the
    case, like its note: the recipient gets it only while the gate permits the referral now
    (as `evaluate` asks it, whatever the referral's status: a cancelled referral's reason
    still comes with a valid consent), never once a consent it rests on is withdrawn, and each
    time it does the release is accounted for (a Disclosure row, channel `inbox`, no
    category). The recipient's own words, and everyone's codes, are always there.
    """
    sender = referral.from_organization_id

    def read(text_withheld_from: str | None = None) -> list[EventRead]:
        return service.events(
            db=db,
            keyring=keyring,
            referral=referral,
            viewer=organization_id,
            text_withheld_from=text_withheld_from,
        )

    if (
        service.party_of(referral, organization_id) is Party.sender
        or not history.has_text_from(
            db=db, object_type=service.OBJECT_TYPE, object_id=referral.id, organization_id=sender
        )
        or db.get_one(Case, referral.case_id).erased_at is not None  # the words went with it
    ):
        return read()
    # locked and read afresh: a withdrawal found here cancels the referral once
    db.refresh(referral, with_for_update=True)
    decision, _ = _consult(db, keyring, policy, referral, actor, "events")
    if decision is None:
        return read(text_withheld_from=sender)
    items = read()
    history.account_words(
        db=db,
        keyring=keyring,
        items=items,
        sender=sender,
        actor=actor,
        case_id=referral.case_id,
        recipient_organization_id=referral.to_organization_id,
        consent_ids=list(decision.consent_ids),
        decision_id=decision.id,
        referral_id=referral.id,
        legal_basis=decision.legal_basis,
    )
    return items


def account(
    *,
    db: Session,
    referral: Referral,
    released: Released,
    actor: str,
    channel: str,
    erase_by: datetime | None = None,
) -> Released:
    """Record the disclosure of what `evaluate` released, once it has left by `channel`;
    the release with the recipient's erase-by date (the one given, as a push told it, or the
    disclosure's own)."""
    if not released.releases_data:
        return released
    payload = released.payload or {}
    disclosure = disclosures.record(
        db=db,
        actor=actor,
        case_id=referral.case_id,
        recipient_organization_id=referral.to_organization_id,
        categories=sorted(payload),
        consent_ids=released.consent_ids,
        decision_id=released.decision_id,
        channel=channel,
        payload_sha256=disclosures.payload_sha256(payload),
        referral_id=referral.id,
        erase_by=erase_by or released.erase_by_at(db, utcnow()),
        legal_basis=released.legal_basis,
    )
    if released.legal_basis != CONSENT:
        # without the person's consent: the office owes them the news, once it is safe
        notices.owe(
            db,
            case_id=referral.case_id,
            referral_id=referral.id,
            recipient_organization_id=referral.to_organization_id,
            legal_basis=released.legal_basis,
            requested_by=referral.created_by,
            disclosed_at=disclosure.at,
            rule=released.basis,
        )
    return replace(released, erase_by=disclosure.erase_by)


def release(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    actor: str,
) -> Released:
    """The recipient's read through the API: evaluated and accounted for at once."""
    released = evaluate(db=db, keyring=keyring, policy=policy, referral=referral, actor=actor)
    return account(
        db=db, referral=referral, released=released, actor=actor, channel=disclosures.CHANNEL_INBOX
    )


def read(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    organization_id: str,
    actor: str,
    with_payload: bool,
) -> ReferralRead:
    """The referral as the caller sees it. Resolve it with `service.get` first.

    The sender sees its note and what it asked for; the recipient sees the payload (and the
    note) as `release` allows, unless it asks for the referral without its data.
    """
    party = service.party_of(referral, organization_id)
    if party is Party.sender:
        key = cases.live_key(db=db, keyring=keyring, case_id=referral.case_id)
        return ReferralRead(
            **service.summary_fields(referral, party, utcnow()),
            requested_categories=list(referral.requested_categories),
            note=service.open_note(key, referral),
            override_reason=sending.open_override_reason(key, referral),
            payload=None,
            payload_withheld=None,
            review=latest_outcome(db=db, review_id=referral.review_id),
        )
    released = (
        release(db=db, keyring=keyring, policy=policy, referral=referral, actor=actor)
        if with_payload
        else Released(None, None, None)
    )
    # read after the release: a withdrawal it found has just cancelled the referral
    return ReferralRead(
        **service.summary_fields(referral, party, utcnow()),
        requested_categories=None,
        note=released.note,
        override_reason=released.override_reason,
        payload=released.payload,
        payload_withheld=released.withheld,
        erase_by=released.erase_by,
    )
