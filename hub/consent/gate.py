"""The consent gate: the one function that decides whether personal data may leave the hub.

Every path out of the hub (a referral when it is made and again when it is delivered, a
transfer, a recipient pulling its inbox, a FHIR read) calls `decide` and sends at most the
categories it permits. Nothing else decides a disclosure: connectors and the FHIR facade never
run checks of their own. The rules' parameters come from the policy file (`hub.policy.rules`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, and_, bindparam, literal_column, select
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.cases import service as cases
from hub.cases.ages import youngest_age
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent import data_life
from hub.consent.models import Consent, ConsentWithdrawal, GateDecision
from hub.consent.status import IS_LATEST, ConsentStatus, status_of
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.base import new_id
from hub.db.inserts import insert_into
from hub.organizations import service as organizations
from hub.organizations.models import DataSharingAgreement, Organization
from hub.policy.legal_bases import CONSENT, LegalBasisRule
from hub.policy.loader import Policy
from hub.policy.rules import ChildAgeBands, Effect, Reason

CAREGIVER = "caregiver"
SUBJECT = "subject"
VERBAL = "verbal"


class Outcome(StrEnum):
    permit = "permit"
    review = "review"
    deny = "deny"


class Decision(BaseModel):
    """What the gate answered; stored as a GateDecision under the same id.

    A `deny` permits nothing (`permitted_categories` is empty). A `review` lists what would be
    sent once a consent officer approves; a `permit` lists what may be sent now.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    outcome: Outcome
    case_id: str
    recipient_organization_id: str
    purpose: str
    consent_ids: tuple[str, ...]
    permitted_categories: tuple[str, ...]
    withheld_categories: tuple[str, ...]
    reasons: tuple[dict[str, Any], ...]
    policy_version: int
    # `consent`, or the basis of the policy's `legal_bases:` the request invoked
    legal_basis: str = CONSENT

    @property
    def codes(self) -> list[str]:
        return [reason["code"] for reason in self.reasons]


class _Reasons:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, code: Reason, **details: Any) -> None:
        self.items.append({"code": code.value, **details})

    def codes(self) -> set[Reason]:
        return {Reason(item["code"]) for item in self.items}


@dataclass(slots=True)
class GateConsent:
    """The columns of a current consent version the gate decides on (not the whole row as an
    ORM object: the gate reads it on every decision, and nothing here changes it)."""

    id: str
    given_by: str
    child_assent: bool | None
    method: str
    witness: str | None
    purposes: list[str]
    recipient_organizations: list[str]
    recipient_kinds: list[str]
    categories: list[str]
    excluded_organizations: list[str]
    excluded_kinds: list[str]
    valid_from: datetime
    valid_until: datetime | None
    given_at: datetime
    data_life_unit: str | None
    data_life_value: int | None


_GATE_CONSENT_COLUMNS = tuple(getattr(Consent, f.name) for f in fields(GateConsent))


def _ids(consents: Iterable[GateConsent]) -> list[str]:
    return sorted(c.id for c in consents)


Terms = list[tuple[list[str], list[str]]]
Versions = list[tuple[GateConsent, datetime | None]]

# The two reads every decision makes, in one round trip: the terms (purposes, categories) of the
# agreements in force from the owner to the recipient (`organizations.IN_FORCE_WHERE`) and the
# case's current consent versions with their withdrawal times (`status.IS_LATEST`), each side
# left-joined to a one-row anchor so that either can be empty. A row pairs one agreement with
# one version (n x m rows: between two organisations only a few agreements are in force at once);
# `_read` takes each apart by id. Built once, everything bound: this runs on every decision.
# Columns, not ORM objects: run on the session's connection, it costs no ORM loading.
_ANCHOR = select(literal_column("1").label("one")).subquery("anchor")
_TERMS_AND_VERSIONS = (
    select(
        DataSharingAgreement.id,
        DataSharingAgreement.purposes,
        DataSharingAgreement.categories,
        ConsentWithdrawal.withdrawn_at,
        *_GATE_CONSENT_COLUMNS,
    )
    .select_from(_ANCHOR)
    .outerjoin(DataSharingAgreement, and_(*organizations.IN_FORCE_WHERE))
    .outerjoin(Consent, and_(Consent.case_id == bindparam("case_id", type_=String(32)), IS_LATEST))
    .outerjoin(ConsentWithdrawal, ConsentWithdrawal.series_id == Consent.series_id)
    .order_by(Consent.recorded_at, Consent.id, DataSharingAgreement.id)
)


def _read(db: Session, case: Case, recipient: Organization, at: datetime) -> tuple[Terms, Versions]:
    """The agreements' terms in force at `at` and the case's current consent versions (in
    the order they were recorded), as `organizations.agreements_in_force` and
    `status.current_versions` read them, in one statement."""
    terms: dict[str, tuple[list[str], list[str]]] = {}
    versions: dict[str, tuple[GateConsent, datetime | None]] = {}
    if db.autoflush:
        # what the session's own execution would do first: what it holds unwritten counts
        db.flush()
    # all at once: one fetch from the driver, not one per row
    rows = (
        db.connection()
        .execute(
            _TERMS_AND_VERSIONS,
            {
                "from_id": case.owner_organization_id,
                "to_id": recipient.id,
                "at": at,
                "case_id": case.id,
            },
        )
        .all()
    )
    for agreement_id, purposes, categories, withdrawn_at, consent_id, *columns in rows:
        if agreement_id is not None and agreement_id not in terms:
            terms[agreement_id] = (list(purposes), list(categories))
        if consent_id is not None and consent_id not in versions:
            versions[consent_id] = (GateConsent(consent_id, *columns), withdrawn_at)
    return list(terms.values()), list(versions.values())


def decide(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    case: Case,
    recipient: Organization,
    purpose: str,
    categories: Collection[str],
    at: datetime,
    actor: str,
    context: str,
    legal_basis: str = CONSENT,
) -> Decision:
    """Decide whether `case`'s owner may disclose `categories` to `recipient` for `purpose` at
    `at`. This is the ONLY function that decides a disclosure: every way out calls it.

    Permitted = requested ∩ what the active consents cover (those naming the recipient by
    organisation or kind, covering the purpose, from the givers the child rules count) ∩ what
    the data sharing agreements in force from the owner to the recipient cover for the purpose.
    Anything else is withheld, never sent. An active consent that excludes the recipient (by
    organisation or kind) vetoes the whole request: it is the person's explicit "never".
    Withdrawn, expired, superseded and not-yet-valid versions never permit (`hub.consent.status`
    says which are active); a recorded withdrawal applies even to an `at` before it.

    On a `legal_basis` other than consent (`hub.policy.legal_bases`), the basis's categories
    and purposes take the place of what the consents cover (an unknown basis covers nothing);
    the agreements still apply, an active consent excluding the recipient still vetoes, and the
    reason `legal_basis` always asks for consent officers (`ALWAYS_REVIEW`): the decision
    relies on no consent.

    Reasons are machine-readable (`{"code": ..., ...details}`, codes in `hub.policy.rules`);
    the policy's `effects` table maps each to deny, review or note. Outcome: deny if any reason
    denies, else review if any asks for review, else permit; nothing permitted always denies.

    The decision is stored (GateDecision, with the policy version and `context`) and audited
    (ids, codes and category names only) in the caller's transaction.
    """
    if at.tzinfo is None:
        raise ValueError("decide() needs an aware `at`")
    reasons = _Reasons()
    vocab = policy.vocabularies
    requested = sorted(set(categories))
    known = [c for c in requested if c in vocab.data_categories]
    if purpose not in vocab.purposes:
        # the value itself stays out: it came from a client and could be anything
        reasons.add(Reason.unknown_value, vocabulary="purposes")
    if len(known) < len(requested):
        reasons.add(
            Reason.unknown_value, vocabulary="data_categories", count=len(requested) - len(known)
        )

    age: int | None = None
    if case.erased_at is not None:
        reasons.add(Reason.case_erased)
    else:
        # the youngest the person can be: an estimated age never makes a child an adult
        age = youngest_age(cases.read_subject(db=db, keyring=keyring, case=case), at.date())

    terms, versions = _read(db, case, recipient, at)
    agreement_cover = _agreements(policy, terms, purpose, known, reasons)
    if legal_basis == CONSENT:
        consent_cover, relied_on = _consents(
            db, policy, versions, recipient, purpose, known, age, at, reasons
        )
    else:
        consent_cover, relied_on = (
            _basis(policy.legal_bases.get(legal_basis), versions, recipient, purpose, at, reasons),
            [],
        )
        if legal_basis in policy.legal_bases:
            reasons.add(Reason.legal_basis, basis=legal_basis)

    permitted = [c for c in known if c in consent_cover and c in agreement_cover]
    withheld = [c for c in known if c not in permitted]
    if withheld:
        reasons.add(Reason.category_not_covered, categories=withheld)
    if not permitted:
        reasons.add(Reason.nothing_permitted)
    contributing = [c for c in relied_on if set(c.categories) & set(permitted)]
    _triggers(policy, recipient, permitted, contributing, age, at, reasons)

    effects = {policy.effect(code) for code in reasons.codes()}
    if Effect.deny in effects:
        outcome, permitted, contributing = Outcome.deny, [], []
    elif Effect.review in effects:
        outcome = Outcome.review
    else:
        outcome = Outcome.permit
    decision = Decision(
        id=new_id(),
        outcome=outcome,
        case_id=case.id,
        recipient_organization_id=recipient.id,
        purpose=purpose if purpose in vocab.purposes else "",
        consent_ids=tuple(_ids(contributing)),
        permitted_categories=tuple(permitted),
        withheld_categories=tuple(c for c in known if c not in permitted),
        reasons=tuple(reasons.items),
        policy_version=policy.version,
        # a name the policy does not list is no basis to record (it came from a client)
        legal_basis=legal_basis if legal_basis in (CONSENT, *policy.legal_bases) else "unknown",
    )
    _store(db, decision, case=case, requested=known, actor=actor, context=context)
    return decision


def _agreements(
    policy: Policy, agreements: Terms, purpose: str, known: list[str], reasons: _Reasons
) -> set[str]:
    """The categories the agreements in force (their `terms`) cover for this purpose."""
    if not agreements:
        reasons.add(Reason.no_agreement)
        return set()
    cover: set[str] = set()
    purpose_covered = False
    for purposes, categories in agreements:
        if purpose in purposes:
            purpose_covered = True
            cover.update(categories)
    if policy.review_triggers.agreement_not_covering.enabled:
        missing = [c for c in known if c not in cover]
        if not purpose_covered:
            reasons.add(Reason.agreement_not_covering, purpose=purpose, categories=missing)
        elif missing:
            reasons.add(Reason.agreement_not_covering, categories=missing)
    return cover


def _basis(
    rule: LegalBasisRule | None,
    versions: Versions,
    recipient: Organization,
    purpose: str,
    at: datetime,
    reasons: _Reasons,
) -> set[str]:
    """The categories a legal basis covers for this purpose; the person's "never" (an active
    consent excluding the recipient) stands against it as against any consent."""
    if rule is None:
        # the value itself stays out of the reasons, as for any unknown value
        reasons.add(Reason.unknown_value, vocabulary="legal_bases")
        return set()
    active, _ = _current(versions, at)
    excluding = [c for c in active if _excludes(c, recipient)]
    if excluding:
        reasons.add(Reason.recipient_excluded, consent_ids=_ids(excluding))
    if rule.purposes and purpose not in rule.purposes:
        reasons.add(Reason.purpose_not_covered, legal_basis=True)
        return set()
    return set(rule.categories)


def _names(consent: GateConsent, recipient: Organization) -> bool:
    return (
        recipient.id in consent.recipient_organizations or recipient.kind in consent.recipient_kinds
    )


def _excludes(consent: GateConsent, recipient: Organization) -> bool:
    return (
        recipient.id in consent.excluded_organizations or recipient.kind in consent.excluded_kinds
    )


def _current(
    versions: Versions, at: datetime
) -> tuple[list[GateConsent], dict[ConsentStatus, list[GateConsent]]]:
    """The case's current consent versions at `at`: the active ones, and the others by status."""
    active: list[GateConsent] = []
    lapsed: dict[ConsentStatus, list[GateConsent]] = {}
    for consent, withdrawn_at in versions:
        # a withdrawal is final once recorded: it also stops decisions about an earlier `at`
        effective = None if withdrawn_at is None else min(withdrawn_at, at)
        status = status_of(consent, superseded=False, withdrawn_at=effective, at=at)
        if status is ConsentStatus.active:
            active.append(consent)
        else:
            lapsed.setdefault(status, []).append(consent)
    return active, lapsed


def _consents(
    db: Session,
    policy: Policy,
    versions: Versions,
    recipient: Organization,
    purpose: str,
    known: list[str],
    age: int | None,
    at: datetime,
    reasons: _Reasons,
) -> tuple[set[str], list[GateConsent]]:
    """The categories the active consents cover, and the consents relied on for them."""
    active, lapsed = _current(versions, at)
    data_life.remember(db, active)

    excluding = [c for c in active if _excludes(c, recipient)]
    if excluding:
        reasons.add(Reason.recipient_excluded, consent_ids=_ids(excluding))
    naming = [c for c in active if c not in excluding and _names(c, recipient)]
    covering = [c for c in naming if purpose in c.purposes]
    groups = _child_rules(policy.children, age, covering, reasons) if covering else []
    # each group speaks for one party: a category is covered when every party's consents cover it
    covers = [set().union(*(c.categories for c in group)) for group in groups]
    cover = set.intersection(*covers) if covers else set()

    if not cover.intersection(known):
        reasons.add(Reason.no_consent)
        for status, code in (
            (ConsentStatus.withdrawn, Reason.consent_withdrawn),
            (ConsentStatus.expired, Reason.consent_expired),
        ):
            relevant = [
                c for c in lapsed.get(status, []) if _names(c, recipient) and purpose in c.purposes
            ]
            if relevant:
                reasons.add(code, consent_ids=_ids(relevant))
        others = [c for c in active if c not in excluding]
        if others and not naming:
            reasons.add(Reason.recipient_not_covered, consent_ids=_ids(others))
        elif naming and not covering:
            reasons.add(Reason.purpose_not_covered, consent_ids=_ids(naming))
    return cover, [c for g in groups for c in g]


def _child_rules(
    bands: ChildAgeBands, age: int | None, covering: list[GateConsent], reasons: _Reasons
) -> list[list[GateConsent]]:
    """The consents that count, grouped by the party each group speaks for.

    What is covered is what every present group covers. An adult's consents all count. For a
    child, the caregiver's consent is required; from `child_consent_from` the child's own
    consent too (before that age a consent given by the child counts as assent only); from
    `child_assent_from` the child's assent (on a caregiver's consent, or their own consent).
    An adult speaks for themself: a caregiver's consent does not count for them.
    """
    if age is None:
        return [covering]
    if age >= bands.caregiver_consent_under:
        given_for = [c for c in covering if c.given_by == CAREGIVER]
        if given_for:
            reasons.add(Reason.caregiver_consent_for_adult, consent_ids=_ids(given_for))
        own = [c for c in covering if c.given_by != CAREGIVER]
        return [own] if own else []
    caregivers = [c for c in covering if c.given_by == CAREGIVER]
    own = [c for c in covering if c.given_by == SUBJECT]
    groups: list[list[GateConsent]] = []
    if caregivers:
        groups.append(caregivers)
    else:
        reasons.add(Reason.caregiver_consent_missing)
    if age >= bands.child_consent_from:
        if own:
            groups.append(own)
        else:
            reasons.add(Reason.child_consent_missing)
    assented = bool(own) or any(c.child_assent for c in caregivers)
    if age >= bands.child_assent_from and not assented:
        refused = any(c.child_assent is False for c in caregivers)
        reasons.add(Reason.child_assent_missing, refused=refused)
    return groups


def _triggers(
    policy: Policy,
    recipient: Organization,
    permitted: list[str],
    contributing: list[GateConsent],
    age: int | None,
    at: datetime,
    reasons: _Reasons,
) -> None:
    """The review triggers: they look at who receives and at what would leave."""
    triggers = policy.review_triggers
    if (
        triggers.recipient_government.enabled
        and recipient.kind in triggers.recipient_government.kinds
    ):
        reasons.add(Reason.recipient_government, kind=recipient.kind)
    sensitive = [c for c in permitted if c in policy.sensitive_categories]
    if triggers.sensitive_category.enabled and sensitive:
        reasons.add(Reason.sensitive_category, categories=sensitive)
    if triggers.verbal_without_witness.enabled:
        unwitnessed = [
            c for c in contributing if c.method == VERBAL and not (c.witness or "").strip()
        ]
        if unwitnessed:
            reasons.add(Reason.verbal_without_witness, consent_ids=_ids(unwitnessed))
    stale = triggers.stale_consent
    if stale.enabled:
        oldest = at - timedelta(days=stale.max_age_days)
        old = [c for c in contributing if c.given_at < oldest]
        if old:
            reasons.add(
                Reason.stale_consent, consent_ids=_ids(old), max_age_days=stale.max_age_days
            )
    is_child = age is not None and age < policy.children.caregiver_consent_under
    if triggers.child_case.enabled and is_child:
        reasons.add(Reason.child_case)


def _store(
    db: Session, decision: Decision, *, case: Case, requested: list[str], actor: str, context: str
) -> None:
    # a plain INSERT with bound parameters, not the unit of work: a third of the CPU on this
    # hot path, and the row exists at once for what the caller then stores that refers to it
    db.connection().execute(
        insert_into(GateDecision.__table__),
        {
            "id": decision.id,
            "case_id": case.id,
            "from_organization_id": case.owner_organization_id,
            "recipient_organization_id": decision.recipient_organization_id,
            "purpose": decision.purpose,
            "requested_categories": requested,
            "outcome": decision.outcome.value,
            "permitted_categories": list(decision.permitted_categories),
            "consent_ids": list(decision.consent_ids),
            "reasons": list(decision.reasons),
            "policy_version": decision.policy_version,
            "context": context,
            "legal_basis": decision.legal_basis,
            "actor": actor,
            "decided_at": utcnow(),
        },
    )
    record(
        db,
        actor=actor,
        action="consent.gate_decided",
        object_type="gate_decision",
        object_id=decision.id,
        details={
            "case_id": case.id,
            "recipient_organization_id": decision.recipient_organization_id,
            "purpose": decision.purpose,
            "context": context,
            "outcome": decision.outcome.value,
            "codes": decision.codes,
            "permitted_categories": list(decision.permitted_categories),
            "withheld_categories": list(decision.withheld_categories),
            "consent_ids": list(decision.consent_ids),
            "policy_version": decision.policy_version,
            "legal_basis": decision.legal_basis,
        },
    )
