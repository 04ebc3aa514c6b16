"""Cases: create, read, update and erase a beneficiary's case, its data held encrypted.

Each case has its own data key (owner `case:<id>`); the subject and every data category are
separate ciphertexts bound to their row and field. Erasing a case shreds its key. Routes stay
thin: `get` answers 404 for what the caller may not see, `summary`/`read` build the responses.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, String, bindparam, delete, literal, select
from sqlalchemy.orm import Session

from hub.api import pagination
from hub.api.problems import Conflict, NotFound, Problem, Unprocessable
from hub.audit.service import record
from hub.cases import ages
from hub.cases.models import Case, CaseData
from hub.cases.schemas import CaseRead, CaseSummary, Subject
from hub.clock import utcnow
from hub.crypto import service as keys
from hub.crypto.envelope import decrypt_json, encrypt_json
from hub.crypto.keyring import KeyEncryptionKeys
from hub.crypto.models import DataKey
from hub.db.base import new_id
from hub.db.session import purge_after_commit, transaction_scoped
from hub.policy.loader import Policy

CASES = "cases"
CASE_DATA = "case_data"
SUBJECT_FIELD = "subject"
# `transaction_scoped` name: the subjects this transaction decrypted, by case id
SUBJECTS = "hub.cases.subjects"


class CaseErased(Problem):
    def __init__(self) -> None:
        super().__init__(410, "case_erased", "The case's personal data has been erased")


class CaseClosed(Problem):
    def __init__(self) -> None:
        super().__init__(
            409,
            "case_closed",
            "The case is closed",
            "A closed case takes no new referral or transfer: reopen it first.",
        )


CASE_OWNER_PREFIX = "case:"
# the case's own life (its table of moves: `hub.closure.lifecycle`)
OPEN = "open"
CLOSED = "closed"


def owner_for_case(case_id: str) -> str:
    """The key-registry owner of a case: whatever else is tied to the case (consent evidence,
    disclosure snapshots) encrypts under this owner's key, so erasing the case erases it too."""
    return f"{CASE_OWNER_PREFIX}{case_id}"


def _check_categories(policy: Policy, names: Collection[str]) -> None:
    allowed = policy.vocabularies.data_categories
    if any(name not in allowed for name in names):
        # the offending keys are not echoed: a client could have put personal data in them
        raise Unprocessable(
            "unknown_value",
            "Unknown data category",
            "data holds a category outside the policy vocabulary",
            field="data",
            allowed=list(allowed),
        )


def _encrypt_category(key: bytes, case_id: str, category: str, value: Mapping[str, Any]) -> bytes:
    return encrypt_json(key, dict(value), table=CASE_DATA, row=case_id, field=category)


def live_key(*, db: Session, keyring: KeyEncryptionKeys, case_id: str) -> bytes | None:
    """The case's data key, or None once the case is erased (what it sealed is gone too)."""
    case = db.get_one(Case, case_id)
    if case.erased_at is not None:
        return None
    try:
        return keys.data_key(db=db, keyring=keyring, owner=owner_for_case(case_id))
    except keys.DataKeyMissing:
        return None


def _key(db: Session, keyring: KeyEncryptionKeys, case: Case) -> bytes:
    if case.erased_at is not None:
        raise CaseErased()
    return keys.data_key(db=db, keyring=keyring, owner=owner_for_case(case.id))


def create(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    actor: str,
    owner_organization_id: str,
    external_ref: str,
    subject: Subject,
    data: Mapping[str, Mapping[str, Any]],
) -> Case:
    _check_categories(policy, data.keys())
    today = utcnow().date()
    ages.check(subject, today)
    subject = ages.settled(subject, today)
    taken = db.scalar(
        select(Case.id).where(
            Case.owner_organization_id == owner_organization_id,
            Case.external_ref == external_ref,
        )
    )
    if taken is not None:
        raise Conflict("duplicate_external_ref", "A case with this external_ref already exists")
    case_id = new_id()
    key = keys.data_key(db=db, keyring=keyring, owner=owner_for_case(case_id), create=True)
    case = Case(
        id=case_id,
        owner_organization_id=owner_organization_id,
        external_ref=external_ref,
        subject_ciphertext=encrypt_json(
            key, subject.model_dump(mode="json"), table=CASES, row=case_id, field=SUBJECT_FIELD
        ),
    )
    db.add(case)
    # the case row goes in first: its data rows reference it and no relationship() orders them
    db.flush()
    for category, value in data.items():
        ciphertext = _encrypt_category(key, case_id, category, value)
        db.add(CaseData(case_id=case_id, category=category, ciphertext=ciphertext))
    record(
        db,
        actor=actor,
        action="case.created",
        object_type="case",
        object_id=case_id,
        details={"owner_organization_id": owner_organization_id, "categories": sorted(data)},
    )
    return case


# built once (the case and its owner bound): every request about a case runs one of them,
# and building the statement cost about as much CPU as running it. Of the key row, the two
# columns that open it, not an ORM object: nothing changes it (`keys.WrappedKey`)
_CASE_WITH_KEY = (
    select(Case, DataKey.kek_version, DataKey.wrapped_key)
    .outerjoin(DataKey, DataKey.owner == literal(CASE_OWNER_PREFIX) + Case.id)
    .where(
        Case.id == bindparam("case_id", type_=String(32)),
        Case.owner_organization_id == bindparam("organization_id", type_=String(32)),
    )
)
_CASE_WITH_KEY_LOCKED = _CASE_WITH_KEY.with_for_update(of=Case).execution_options(
    populate_existing=True
)


def get(*, db: Session, case_id: str, organization_id: str, lock: bool = False) -> Case:
    """The case if `organization_id` owns it; otherwise 404, so existence does not leak.

    Its data key row comes in the same query (one round trip): nearly every caller seals or
    opens something of the case next. `lock`: the case's row locked until the transaction
    ends, and read afresh even if the session held it."""
    query = _CASE_WITH_KEY_LOCKED if lock else _CASE_WITH_KEY
    found = db.execute(query, {"case_id": case_id, "organization_id": organization_id}).first()
    if found is None:
        raise NotFound("case")
    case, kek_version, wrapped_key = found
    loaded = None if kek_version is None else keys.LoadedKey(kek_version, wrapped_key)
    keys.keep_loaded(db, owner_for_case(case.id), loaded)
    return case


def open_for_requests(*, db: Session, case_id: str, organization_id: str) -> Case:
    """The case a new referral or transfer is made for: the caller's (404 otherwise), locked
    (a closing at the same moment waits, or is waited for), and not closed (409
    `case_closed`). The one check both requests pass through; what an erased case answers is
    each request's own (the gate's `case_erased`)."""
    case = get(db=db, case_id=case_id, organization_id=organization_id, lock=True)
    if case.status == CLOSED:
        raise CaseClosed()
    return case


def reference(*, db: Session, case_id: str) -> str:
    """The case's reference, the name people give it where a person's name must not show."""
    return db.get_one(Case, case_id).external_ref


def owner_of(*, db: Session, case_id: str) -> str:
    """The organisation that holds the case now (a transfer's acceptance changes it)."""
    return db.get_one(Case, case_id).owner_organization_id


def categories(*, db: Session, case: Case) -> list[str]:
    """The categories the case holds (names only: nothing is decrypted)."""
    rows = db.scalars(
        select(CaseData.category).where(CaseData.case_id == case.id).order_by(CaseData.category)
    )
    return list(rows)


def read_subject(*, db: Session, keyring: KeyEncryptionKeys, case: Case) -> Subject:
    """The case's subject, decrypted once per transaction (a referral reads it in the consent
    gate and again for its report fields) and kept no longer (`transaction_scoped`); read
    afresh if the case's ciphertext changed meanwhile. The same object to every reader of the
    transaction: not to be changed."""
    key = _key(db, keyring, case)
    held = transaction_scoped(db, SUBJECTS)
    found = held.get(case.id)
    if found is not None and found[0] == case.subject_ciphertext:
        kept: Subject = found[1]
        return kept
    value = decrypt_json(
        key, case.subject_ciphertext, table=CASES, row=case.id, field=SUBJECT_FIELD
    )
    subject = Subject.model_validate(value)
    held[case.id] = (case.subject_ciphertext, subject)
    return subject


# built once (see `_CASE_WITH_KEY`); the two columns used, not the rows as ORM objects, which
# cost about a third more CPU per read (and nothing here changes them)
_CASE_DATA = (
    select(CaseData.category, CaseData.ciphertext)
    .where(CaseData.case_id == bindparam("case_id", type_=String(32)))
    .order_by(CaseData.category)
)
_CASE_DATA_OF = _CASE_DATA.where(
    CaseData.category.in_(bindparam("categories", expanding=True, type_=String(40)))
)


def read_data(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    case: Case,
    categories: Collection[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The decrypted categories (all, or those asked for that the case holds)."""
    key = _key(db, keyring, case)
    if db.autoflush:
        # what the session's own execution would do first (a category it holds unwritten
        # counts); the statement itself runs on the connection: columns, no ORM loading
        db.flush()
    connection = db.connection()
    if categories is None:
        rows = connection.execute(_CASE_DATA, {"case_id": case.id})
    else:
        rows = connection.execute(
            _CASE_DATA_OF, {"case_id": case.id, "categories": list(categories)}
        )
    return {
        category: decrypt_json(key, ciphertext, table=CASE_DATA, row=case.id, field=category)
        for category, ciphertext in rows.all()  # one fetch from the driver, not one per row
    }


def update_data(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    actor: str,
    case: Case,
    data: Mapping[str, Mapping[str, Any] | None],
) -> list[str]:
    """Replace the given categories whole; a `None` value removes that category.

    Returns the categories the case holds afterwards.
    """
    _check_categories(policy, data.keys())
    key = _key(db, keyring, case)
    changed: list[str] = []
    removed: list[str] = []
    for category, value in sorted(data.items()):
        row = db.get(CaseData, (case.id, category))
        if value is None:
            if row is not None:
                db.delete(row)
                removed.append(category)
            continue
        ciphertext = _encrypt_category(key, case.id, category, value)
        if row is None:
            db.add(CaseData(case_id=case.id, category=category, ciphertext=ciphertext))
        else:
            row.ciphertext = ciphertext
        changed.append(category)
    case.updated_at = utcnow()
    record(
        db,
        actor=actor,
        action="case.data_updated",
        object_type="case",
        object_id=case.id,
        details={"changed": changed, "removed": removed},
    )
    return categories(db=db, case=case)


def erase(*, db: Session, actor: str, case: Case) -> None:
    """Erase the case's personal data: its key is shredded, its ciphertexts deleted.

    The case row stays (ids and times only) so the audit trail and disclosure log still point
    at something; copies of its ciphertexts elsewhere no longer open, nor do its keyed
    digests. On SQLite the WAL is emptied once this commits (the wrapped key's old page lies
    there); copies made before (a backup, a dump, PostgreSQL's dead row versions) hold the
    wrapped key until the daily `hub keys retire` destroys the KEK version that wrapped it:
    then the erasure is final (docs/security.md, "Erasure").

    The case's requests still under review are `hub.erasure.service`'s: erase through it.
    """
    if case.erased_at is not None:
        raise CaseErased()
    held = categories(db=db, case=case)
    shredded = keys.shred(db=db, owner=owner_for_case(case.id))
    db.execute(delete(CaseData).where(CaseData.case_id == case.id))
    case.subject_ciphertext = b""
    case.erased_at = utcnow()
    purge_after_commit(db)
    record(
        db,
        actor=actor,
        action="case.erased",
        object_type="case",
        object_id=case.id,
        details={"categories": held, "data_key_shredded": shredded},
    )


def summary(*, db: Session, case: Case) -> CaseSummary:
    return CaseSummary(
        id=case.id,
        external_ref=case.external_ref,
        owner_organization_id=case.owner_organization_id,
        categories=categories(db=db, case=case),
        created_at=case.created_at,
        updated_at=case.updated_at,
        erased_at=case.erased_at,
        status=case.status,
        closure_reason=case.status_reason if case.status == CLOSED else None,
    )


def read(*, db: Session, keyring: KeyEncryptionKeys, case: Case) -> CaseRead:
    """The whole case, decrypted: for its owner only (resolve it with `get` first)."""
    data = read_data(db=db, keyring=keyring, case=case)
    return CaseRead(
        **summary(db=db, case=case).model_dump(),
        subject=read_subject(db=db, keyring=keyring, case=case),
        data=data,
    )


def get_page(
    *, db: Session, organization_id: str, cursor: str | None, limit: int
) -> tuple[list[CaseSummary], str | None]:
    """The organisation's cases, newest first; the tenant condition is part of the query."""
    query = pagination.page(
        select(Case).where(Case.owner_organization_id == organization_id),
        time_column=Case.created_at,
        id_column=Case.id,
        cursor=cursor,
        limit=limit,
    )
    rows = list(db.scalars(query))
    cursor_next = pagination.next_cursor(rows, limit, time_attr="created_at")
    return [summary(db=db, case=case) for case in rows[:limit]], cursor_next


class CaseStatus(StrEnum):
    """What a list may ask for: a case open or closed (its data held), or one whose data was
    erased."""

    open = "open"
    closed = "closed"
    erased = "erased"


@dataclass(frozen=True)
class CaseFilter:
    """The filters of a case list, the same for the API (`GET /v1/cases`) and the console."""

    reference: str | None = None  # part of the reference, any case
    status: CaseStatus | None = None
    registered_from: date | None = None  # inclusive, UTC days
    registered_to: date | None = None  # inclusive
    has_open_referrals: bool | None = None


# The case ids that have a referral still open. Referrals sit above cases (cases import no
# request), so the referrals hand the rule in as the hub starts (`hub.referrals.tasks.install`).
OpenReferrals = Callable[[], Select[tuple[str]]]
_open_referrals: list[OpenReferrals] = []


def counts_open_referrals(case_ids: OpenReferrals) -> None:
    """Registers the query of the case ids with an open referral (again: replaces it)."""
    _open_referrals[:] = [case_ids]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: Select[Any], wanted: CaseFilter) -> Select[Any]:
    if (
        wanted.registered_from
        and wanted.registered_to
        and wanted.registered_from > wanted.registered_to
    ):
        raise Unprocessable(
            "invalid_range",
            "The registration dates are the wrong way round",
            "registered_from is after registered_to",
            field="registered_from",
        )
    if wanted.reference and wanted.reference.strip():
        # a substring, whatever the case of its letters: people type part of a reference
        needle = f"%{_escape_like(wanted.reference.strip().lower())}%"
        query = query.where(Case.external_ref.ilike(needle, escape="\\"))
    if wanted.status in (CaseStatus.open, CaseStatus.closed):
        query = query.where(Case.erased_at.is_(None), Case.status == wanted.status.value)
    elif wanted.status is CaseStatus.erased:
        query = query.where(Case.erased_at.is_not(None))
    if wanted.registered_from:
        start = datetime.combine(wanted.registered_from, time.min, tzinfo=UTC)
        query = query.where(Case.created_at >= start)
    if wanted.registered_to:
        end = datetime.combine(wanted.registered_to + timedelta(days=1), time.min, UTC)
        query = query.where(Case.created_at < end)
    if wanted.has_open_referrals is not None:
        if not _open_referrals:
            raise RuntimeError("no rule for open referrals: hub.wiring.install() was not run")
        with_open = Case.id.in_(_open_referrals[0]())
        query = query.where(with_open if wanted.has_open_referrals else ~with_open)
    return query


def find(
    *,
    db: Session,
    organization_id: str,
    wanted: CaseFilter,
    cursor: str | None,
    limit: int,
) -> tuple[list[CaseSummary], str | None]:
    """The organisation's cases that match `wanted`, newest first; the tenant condition is
    part of the query, whatever the filters."""
    query = pagination.page(
        _filtered(select(Case).where(Case.owner_organization_id == organization_id), wanted),
        time_column=Case.created_at,
        id_column=Case.id,
        cursor=cursor,
        limit=limit,
    )
    rows = list(db.scalars(query))
    cursor_next = pagination.next_cursor(rows, limit, time_attr="created_at")
    return [summary(db=db, case=case) for case in rows[:limit]], cursor_next


def find_by_reference(*, db: Session, organization_id: str, reference: str) -> Case | None:
    """The organisation's case with this reference (exact, as people type it from a form), or
    None; another organisation's case with the same reference is not found."""
    return db.scalar(
        select(Case).where(
            Case.owner_organization_id == organization_id, Case.external_ref == reference.strip()
        )
    )
