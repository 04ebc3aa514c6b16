"""The consent registry: record versions, read them, withdraw a series.

A consent row is never changed: a change is a new version of its series that supersedes the
current one, a withdrawal is a row of its own, and what a version currently is comes from
`hub.consent.status`. The caregiver and the withdrawal reason are personal data, sealed with the
case's data key (`hub.consent.sealing`), so erasing the case erases them too. Evidence files (a
scanned form per version): `hub.consent.evidence`.

Every function takes a consent or case the caller already resolved for its organisation
(`get`, or `hub.cases.service.get`): the tenant condition is in those queries.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.api import pagination, vocabulary
from hub.api.problems import Conflict, NotFound, Unprocessable
from hub.audit.service import record as audit
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent import data_life
from hub.consent.models import Consent, ConsentEvidence, ConsentWithdrawal
from hub.consent.schemas import (
    ConsentCreate,
    ConsentRead,
    EvidenceRead,
    Parties,
    WithdrawalCreate,
    WithdrawalRead,
)
from hub.consent.sealing import (
    case_key,
    key_if_any,
    open_caregiver,
    open_reason,
    seal_caregiver,
    seal_reason,
)
from hub.consent.status import status_of
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.base import new_id
from hub.organizations.models import Organization
from hub.outbox.service import enqueue
from hub.policy.loader import Policy

WITHDRAWN_TOPIC = "consent.withdrawn"
# a client's clock may run a little ahead of ours; more than this is a date in the future
CLOCK_SKEW = timedelta(minutes=5)


class ConsentWithdrawn(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "consent_withdrawn",
            "The consent has been withdrawn",
            "A withdrawn consent is final: record a new consent instead.",
        )


class ConsentSuperseded(Conflict):
    def __init__(self, current_id: str | None) -> None:
        super().__init__(
            "consent_superseded",
            "The consent has a newer version",
            "Only the current version of a consent can be superseded.",
            current_id=current_id,
        )


def _check_rules(data: ConsentCreate, now: datetime) -> None:
    if data.given_by == "caregiver" and data.caregiver is None:
        raise Unprocessable(
            "caregiver_missing",
            "A caregiver's consent needs the caregiver",
            "given_by is caregiver: caregiver {name, relationship} is required.",
            field="caregiver",
        )
    if data.given_by == "subject" and data.caregiver is not None:
        raise Unprocessable(
            "caregiver_unexpected",
            "A consent given by the subject names no caregiver",
            "given_by is subject: leave caregiver out, or record given_by caregiver.",
            field="caregiver",
        )
    if data.valid_until is not None and data.valid_until <= data.valid_from:
        raise Unprocessable(
            "invalid_dates", "valid_until must be after valid_from", field="valid_until"
        )
    if data.given_at is not None and data.given_at > now + CLOCK_SKEW:
        raise Unprocessable("invalid_dates", "given_at is in the future", field="given_at")


def _check_scope(db: Session, policy: Policy, data: ConsentCreate) -> None:
    vocabulary.check(policy, "purposes", data.purposes, field="purposes")
    vocabulary.check(policy, "data_categories", data.categories, field="categories")
    vocabulary.check(policy, "organization_kinds", data.recipients.kinds, field="recipients.kinds")
    vocabulary.check(policy, "organization_kinds", data.exclusions.kinds, field="exclusions.kinds")
    named = set(data.recipients.organizations) | set(data.exclusions.organizations)
    if named:
        known = set(db.scalars(select(Organization.id).where(Organization.id.in_(named))))
        unknown = sorted(named - known)
        if unknown:
            raise Unprocessable(
                "unknown_value",
                "Unknown organisation",
                "recipients or exclusions name organisations the hub does not know",
                vocabulary="organizations",
                unknown=unknown,
            )
    if not data.recipients.organizations and not data.recipients.kinds:
        raise Unprocessable(
            "recipients_missing",
            "A consent names who may receive the data",
            "recipients needs at least one organisation or organisation kind.",
            field="recipients",
        )


def _withdrawal_of(db: Session, series_id: str) -> ConsentWithdrawal | None:
    return db.get(ConsentWithdrawal, series_id)


def _current_of_series(db: Session, series_id: str) -> str | None:
    return db.scalar(
        select(Consent.id)
        .where(Consent.series_id == series_id)
        .order_by(Consent.version.desc())
        .limit(1)
    )


def _previous(db: Session, case: Case, supersedes: str) -> Consent:
    """The version a new one replaces: the current version of a live series of this case."""
    # locked, so a concurrent new version or withdrawal of the series waits for this one
    previous = db.scalar(
        select(Consent)
        .where(Consent.id == supersedes, Consent.case_id == case.id)
        .with_for_update()
    )
    if previous is None:
        # another case's consent (or another organisation's) answers like an unknown id
        raise Unprocessable(
            "invalid_supersedes",
            "supersedes must name a consent of this case",
            field="supersedes",
        )
    if _withdrawal_of(db, previous.series_id) is not None:
        raise ConsentWithdrawn()
    if db.scalar(select(exists().where(Consent.supersedes_id == previous.id))):
        raise ConsentSuperseded(_current_of_series(db, previous.series_id))
    return previous


def record(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    actor: str,
    case: Case,
    data: ConsentCreate,
) -> Consent:
    """Record a consent: version 1 of a new series, or the next version of `data.supersedes`."""
    now = utcnow()
    key = case_key(db=db, keyring=keyring, case=case)
    _check_rules(data, now)
    _check_scope(db, policy, data)
    life = data_life.resolve(policy.data_life, data.purposes, data.data_life, now)
    previous = _previous(db, case, data.supersedes) if data.supersedes else None
    consent_id = new_id()
    caregiver = seal_caregiver(key, consent_id, data.caregiver) if data.caregiver else None
    consent = Consent(
        id=consent_id,
        case_id=case.id,
        series_id=previous.series_id if previous else new_id(),
        version=previous.version + 1 if previous else 1,
        supersedes_id=previous.id if previous else None,
        given_by=data.given_by,
        caregiver_ciphertext=caregiver,
        child_assent=data.child_assent,
        method=data.method,
        witness=data.witness,
        language=data.language,
        interpreter=data.interpreter,
        purposes=list(data.purposes),
        recipient_organizations=list(data.recipients.organizations),
        recipient_kinds=list(data.recipients.kinds),
        categories=list(data.categories),
        excluded_organizations=list(data.exclusions.organizations),
        excluded_kinds=list(data.exclusions.kinds),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        given_at=data.given_at or now,
        data_life_unit=life.unit if life else None,
        data_life_value=life.value if life else None,
        recorded_by=actor,
        recorded_at=now,
    )
    try:
        # flushed in a savepoint: two new versions of one series racing (where row locks are
        # not enough, as on SQLite) meet the unique constraints here, answered as a 409
        with db.begin_nested():
            db.add(consent)
            db.flush()
    except IntegrityError:
        if previous is None:
            raise
        raise ConsentSuperseded(_current_of_series(db, previous.series_id)) from None
    audit(
        db,
        actor=actor,
        action="consent.recorded",
        object_type="consent",
        object_id=consent.id,
        details={
            "case_id": case.id,
            "series_id": consent.series_id,
            "version": consent.version,
            "supersedes_id": consent.supersedes_id,
            "given_by": consent.given_by,
            "method": consent.method,
            "purposes": consent.purposes,
            "categories": consent.categories,
            "data_life": life.model_dump() if life else None,
        },
    )
    return consent


def _visible(organization_id: str) -> Select[tuple[Consent]]:
    """The one access rule: consents of the organisation's own cases, in the SQL."""
    return (
        select(Consent)
        .join(Case, Case.id == Consent.case_id)
        .where(Case.owner_organization_id == organization_id)
    )


def get(*, db: Session, consent_id: str, organization_id: str) -> Consent:
    """The consent if its case belongs to `organization_id`; otherwise 404."""
    consent = db.scalar(_visible(organization_id).where(Consent.id == consent_id))
    if consent is None:
        raise NotFound("consent")
    return consent


def list_for_case(
    *, db: Session, organization_id: str, case_id: str, cursor: str | None, limit: int
) -> tuple[list[Consent], str | None]:
    """Every version of every consent of the case, newest first."""
    query = pagination.page(
        _visible(organization_id).where(Consent.case_id == case_id),
        time_column=Consent.recorded_at,
        id_column=Consent.id,
        cursor=cursor,
        limit=limit,
    )
    rows = list(db.scalars(query))
    return rows[:limit], pagination.next_cursor(rows, limit, time_attr="recorded_at")


def withdraw(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    actor: str,
    consent: Consent,
    data: WithdrawalCreate,
) -> ConsentWithdrawal:
    """Withdraw the consent's series: no version of it permits anything from now on.

    Any version may be named; the withdrawal records the series' current version. A
    `consent.withdrawn` outbox message lets referrals in flight be stopped.
    """
    case = db.get_one(Case, consent.case_id)
    key = case_key(db=db, keyring=keyring, case=case)
    # the current version locked: a new version being recorded at the same time waits
    current = db.scalar(
        select(Consent)
        .where(Consent.series_id == consent.series_id)
        .order_by(Consent.version.desc())
        .limit(1)
        .with_for_update()
    )
    assert current is not None  # the named consent itself is in the series
    if _withdrawal_of(db, consent.series_id) is not None:
        raise ConsentWithdrawn()
    reason = seal_reason(key, consent.series_id, data.reason) if data.reason else None
    withdrawal = ConsentWithdrawal(
        series_id=consent.series_id,
        consent_id=current.id,
        case_id=case.id,
        withdrawn_at=utcnow(),
        method=data.method,
        reason_ciphertext=reason,
        recorded_by=actor,
    )
    try:
        # a second withdrawal racing this one meets the primary key here
        with db.begin_nested():
            db.add(withdrawal)
            db.flush()
    except IntegrityError:
        raise ConsentWithdrawn() from None
    enqueue(
        db=db,
        topic=WITHDRAWN_TOPIC,
        payload={"consent_id": current.id, "series_id": consent.series_id, "case_id": case.id},
    )
    audit(
        db,
        actor=actor,
        action="consent.withdrawn",
        object_type="consent",
        object_id=current.id,
        details={
            "case_id": case.id,
            "series_id": consent.series_id,
            "method": data.method,
            "reason_given": reason is not None,
        },
    )
    return withdrawal


def read(*, db: Session, keyring: KeyEncryptionKeys, consents: list[Consent]) -> list[ConsentRead]:
    """The consents as their owner sees them (sealed fields opened), each with its status.

    All of one case (what `get` and `list_for_case` give). Once the case is erased the records
    remain, their caregiver and withdrawal reason gone with the key.
    """
    if not consents:
        return []
    case_id = consents[0].case_id
    if any(c.case_id != case_id for c in consents):
        raise ValueError("read() takes the consents of one case")
    key = key_if_any(db=db, keyring=keyring, case=db.get_one(Case, case_id))
    ids = [c.id for c in consents]
    superseded = set(
        db.scalars(select(Consent.supersedes_id).where(Consent.supersedes_id.in_(ids)))
    )
    withdrawals = {
        w.series_id: w
        for w in db.scalars(
            select(ConsentWithdrawal).where(
                ConsentWithdrawal.series_id.in_({c.series_id for c in consents})
            )
        )
    }
    evidence = {
        e.consent_id: e
        for e in db.scalars(select(ConsentEvidence).where(ConsentEvidence.consent_id.in_(ids)))
    }
    now = utcnow()
    out = []
    for consent in consents:
        withdrawal = withdrawals.get(consent.series_id)
        status = status_of(
            consent,
            superseded=consent.id in superseded,
            withdrawn_at=withdrawal.withdrawn_at if withdrawal else None,
            at=now,
        )
        stored = evidence.get(consent.id)
        out.append(
            ConsentRead(
                id=consent.id,
                case_id=consent.case_id,
                series_id=consent.series_id,
                version=consent.version,
                supersedes=consent.supersedes_id,
                status=status,
                given_by=consent.given_by,  # type: ignore[arg-type]
                caregiver=open_caregiver(key, consent),
                child_assent=consent.child_assent,
                method=consent.method,  # type: ignore[arg-type]
                witness=consent.witness,
                language=consent.language,
                interpreter=consent.interpreter,
                purposes=consent.purposes,
                recipients=Parties(
                    organizations=consent.recipient_organizations, kinds=consent.recipient_kinds
                ),
                categories=consent.categories,
                exclusions=Parties(
                    organizations=consent.excluded_organizations, kinds=consent.excluded_kinds
                ),
                valid_from=consent.valid_from,
                valid_until=consent.valid_until,
                given_at=consent.given_at,
                data_life=data_life.period_of(consent),
                recorded_by=consent.recorded_by,
                recorded_at=consent.recorded_at,
                withdrawal=(
                    WithdrawalRead(
                        at=withdrawal.withdrawn_at,
                        method=withdrawal.method,  # type: ignore[arg-type]
                        reason=open_reason(key, withdrawal),
                        recorded_by=withdrawal.recorded_by,
                    )
                    if withdrawal
                    else None
                ),
                evidence=(
                    EvidenceRead(
                        content_type=stored.content_type, size=stored.size, sha256=stored.sha256
                    )
                    if stored
                    else None
                ),
            )
        )
    return out
