"""Acceptance of a case transfer: ownership moves, in the caller's one transaction.

The recipient accepts; then, all or nothing: the transfer goes `sent` → `accepted` →
`completed` (two events), the case's `owner_organization_id` becomes the recipient, and the
release is accounted for (a Disclosure row, channel `transfer`, with the SHA-256 of the data
released, and its audit entry). Everything tied to the case follows it, because it hangs off
the case and not off an organisation: its consents (and their evidence), its data key, its
disclosures, the events of its referrals and transfers. Referrals keep their from/to ids: they
are the history of who asked whom, and the former owner stays a party to its own referrals.

Data minimisation on an external transfer. Between offices of one IOM hierarchy (one data
controller) the whole case moves. To any other organisation the consent gate is asked again
at acceptance (purpose `case_transfer`, every category the case holds), and only the
categories it permits now, and that it also permitted when the transfer was sent, are handed
over: what the gate withheld stays withheld. The other categories are ERASED from the case
before ownership moves. The hub keeps one copy of a case, for its owner; after the move the
former owner no longer sees it, and the new owner must never hold what the person did not
consent to give it, so nobody keeps those categories. The sender is told which categories will
be withheld when it proposes the transfer (`withheld_categories`), and can cancel instead.

Refusals at acceptance leave the transfer as it was, except a consent withdrawn since: then the
transfer is cancelled (`consent_withdrawn`), as the withdrawal cascade would have done. The
gate's decision and an audit entry are kept either way (the route commits them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import lifecycle
from hub.api.problems import Conflict
from hub.audit.service import record as audit
from hub.cases import service as cases
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent import gate
from hub.consent.answers import Answer, any_withdrawn, meaning
from hub.consent.gate import Decision
from hub.consent.models import GateDecision
from hub.crypto.keyring import KeyEncryptionKeys
from hub.disclosures import service as disclosures
from hub.lifecycle import Party, reasons
from hub.organizations import service as organizations
from hub.organizations.models import Organization
from hub.policy.legal_bases import CONSENT
from hub.policy.loader import Policy
from hub.reviews.coverage import approved_for
from hub.transfers import service
from hub.transfers.lifecycle import MOVES
from hub.transfers.models import Transfer

PURPOSE = "case_transfer"
CHANNEL = "transfer"


@dataclass(frozen=True)
class Refused:
    """Acceptance refused by the consent gate: a problem answer, with the decision kept."""

    status: int
    code: str
    title: str
    decision: Decision


@dataclass(frozen=True)
class Accepted:
    released_categories: list[str]


def decide(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    case: Case,
    to: str,
    actor: str,
    context: str,
    legal_basis: str = CONSENT,
) -> Decision:
    """The gate, for a transfer of the whole case (every category it holds) to `to`, on the
    legal basis the transfer rests on (every time it is asked: the basis is never lost)."""
    return gate.decide(
        db=db,
        keyring=keyring,
        policy=policy,
        case=case,
        recipient=db.get_one(Organization, to),
        purpose=PURPOSE,
        categories=cases.categories(db=db, case=case),
        at=utcnow(),
        actor=actor,
        context=context,
        legal_basis=legal_basis,
    )


def _refused(
    db: Session, transfer: Transfer, actor: str, decision: Decision, refusal: Refused
) -> Refused:
    audit(
        db,
        actor=actor,
        action="transfer.acceptance_refused",
        object_type=service.OBJECT_TYPE,
        object_id=transfer.id,
        details={
            "case_id": transfer.case_id,
            "decision_id": decision.id,
            "code": refusal.code,
            "codes": decision.codes,
            "status": transfer.status,
            "legal_basis": decision.legal_basis,
        },
    )
    return refusal


def _external_release(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    transfer: Transfer,
    case: Case,
    held: list[str],
    actor: str,
) -> tuple[list[str], Decision] | Refused:
    """What the gate lets go now (see the module), or why nothing goes."""
    decision = decide(
        db=db,
        keyring=keyring,
        policy=policy,
        case=case,
        to=transfer.to_organization_id,
        actor=actor,
        context="transfer_accept",
        legal_basis=transfer.legal_basis,
    )
    answer = meaning(
        policy,
        decision,
        withdrawn_before=any_withdrawn(db, transfer.consent_ids),
        approved=approved_for(db, transfer.review_id),
    )
    if answer is Answer.withdrawn:
        service.move(
            db=db,
            keyring=keyring,
            transfer=transfer,
            action="withdraw_consent",
            party=Party.system,
            actor=reasons.SYSTEM_ACTOR,
            organization_id=None,
            reason_code=reasons.CONSENT_WITHDRAWN,
        )
        refusal = Refused(
            422, "consent_denied", "A consent this transfer rests on was withdrawn", decision
        )
        return _refused(db, transfer, actor, decision, refusal)
    if answer is Answer.denied:
        refusal = Refused(422, "consent_denied", "The consent gate denied this transfer", decision)
        return _refused(db, transfer, actor, decision, refusal)
    if answer is Answer.review:
        # the lifecycle has no way back to review from `sent`: the sender cancels and
        # proposes again, which opens a review
        refusal = Refused(
            409,
            "review_required",
            "The transfer now needs a consent officer's review",
            decision,
        )
        return _refused(db, transfer, actor, decision, refusal)
    sent_with = set(held)
    if transfer.decision_id is not None:
        sent_with = set(db.get_one(GateDecision, transfer.decision_id).permitted_categories)
    return [c for c in decision.permitted_categories if c in sent_with], decision


def _take_ownership(db: Session, case: Case, transfer: Transfer, actor: str) -> None:
    recipient = transfer.to_organization_id
    taken = db.scalar(
        select(Case.id).where(
            Case.owner_organization_id == recipient,
            Case.external_ref == case.external_ref,
            Case.id != case.id,
        )
    )
    duplicate = Conflict(
        "duplicate_external_ref",
        "The recipient already holds a case with this external_ref",
        "Nothing was moved. The recipient can reject the transfer, or the sender cancel it.",
    )
    if taken is not None:
        raise duplicate
    former = case.owner_organization_id
    case.owner_organization_id = recipient
    case.updated_at = utcnow()
    try:
        # flushed so that a case taking the same reference at the same moment collides here
        # (answered 409) rather than at commit
        db.flush()
    except IntegrityError:
        raise duplicate from None
    audit(
        db,
        actor=actor,
        action="case.ownership_moved",
        object_type="case",
        object_id=case.id,
        details={
            "from_organization_id": former,
            "to_organization_id": recipient,
            "transfer_id": transfer.id,
        },
    )


def accept(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    transfer: Transfer,
    actor: str,
    organization_id: str,
) -> Accepted | Refused:
    """The recipient accepts (resolve the transfer with `service.get(..., lock=True)` first)."""
    # the party and the status first: a wrong caller is refused before the gate is asked
    party = service.party_of(transfer, organization_id)
    lifecycle.check(MOVES, "accept", status=transfer.status, party=party, reason=None)
    case = db.get_one(Case, transfer.case_id)
    # locked: a data update, an erasure or another transfer of the case waits for this one
    db.refresh(case, with_for_update=True)
    if case.erased_at is not None:
        raise cases.CaseErased()
    held = cases.categories(db=db, case=case)
    decision: Decision | None = None
    within = organizations.same_hierarchy(
        db=db, a=transfer.from_organization_id, b=transfer.to_organization_id
    )
    if within:
        release = held
    else:
        # also when the offices no longer share a hierarchy: the gate decides then
        outcome = _external_release(
            db=db,
            keyring=keyring,
            policy=policy,
            transfer=transfer,
            case=case,
            held=held,
            actor=actor,
        )
        if isinstance(outcome, Refused):
            return outcome
        release, decision = outcome
    erased = [c for c in held if c not in release]
    if erased:
        cases.update_data(
            db=db,
            keyring=keyring,
            policy=policy,
            actor=reasons.SYSTEM_ACTOR,
            case=case,
            data=dict.fromkeys(erased),
        )
        audit(
            db,
            actor=reasons.SYSTEM_ACTOR,
            action="transfer.withheld_erased",
            object_type=service.OBJECT_TYPE,
            object_id=transfer.id,
            details={"case_id": case.id, "categories": erased},
        )
    payload = cases.read_data(db=db, keyring=keyring, case=case, categories=release)
    for action, who, by, code in (
        ("accept", party, organization_id, None),
        ("complete", Party.system, None, reasons.OWNERSHIP_MOVED),
    ):
        service.move(
            db=db,
            keyring=keyring,
            transfer=transfer,
            action=action,
            party=who,
            actor=actor if who is party else reasons.SYSTEM_ACTOR,
            organization_id=by,
            reason_code=code,
        )
    _take_ownership(db, case, transfer, actor)
    service.account(
        db=db,
        policy=policy,
        transfer=transfer,
        actor=actor,
        categories=sorted(payload),
        consent_ids=list(decision.consent_ids) if decision else [],
        decision_id=decision.id if decision else None,
        channel=CHANNEL,
        payload_sha256=disclosures.payload_sha256(payload),
        legal_basis=decision.legal_basis if decision else CONSENT,
    )
    return Accepted(released_categories=sorted(payload))
