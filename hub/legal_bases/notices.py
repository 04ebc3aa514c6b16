"""The news owed to a person after a disclosure made without their consent.

The first disclosure of a request released on a legal basis (a referral's, or a case
transfer's: its offer or its hand-over) opens a notice for the office that owns the case: it
must tell the person (or their caregiver) what was shared, with whom and why, once that is safe.
The scheduler reminds the office's consent officers and the requester `first_after_days` after
the disclosure and every `remind_every_days` after that (the basis's `inform_person` in the
policy), until a person of the office records who was told, when and how (`record_told`).
Nothing here holds personal data: ids, codes and times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from hub.api import pagination
from hub.api.problems import Conflict, NotFound, Unprocessable
from hub.audit.service import record
from hub.auth.tokens import person_of
from hub.cases.models import Case
from hub.clock import utcnow
from hub.db.base import new_id
from hub.legal_bases.models import PersonNotice
from hub.legal_bases.schemas import PersonNoticeRead, Told
from hub.notifications import service as notifications
from hub.notifications.service import Parties
from hub.policy.legal_bases import InformPerson, LegalBasisRule
from hub.policy.loader import Policy
from hub.policy.rules import Audience
from hub.services import Services

OBJECT_TYPE = "person_notice"
# the people reminded: the office's consent officers, and whoever asked for the disclosure
REMINDED = (Audience.sender_case_worker, Audience.sender_consent_officers)
BATCH = 200


class Status(StrEnum):
    owed = "owed"
    told = "told"


def owe(
    db: Session,
    *,
    case_id: str,
    recipient_organization_id: str,
    legal_basis: str,
    requested_by: str,
    disclosed_at: datetime,
    rule: LegalBasisRule | None,
    referral_id: str | None = None,
    transfer_id: str | None = None,
    organization_id: str | None = None,
) -> PersonNotice | None:
    """Open the request's notice (a referral's or a transfer's: exactly one) with its first
    disclosure (later ones change nothing). The office that owes the news is the one that
    asked for the disclosure, `organization_id` (the case's owner when not given: a transfer's
    acceptance has just moved the case to its recipient)."""
    if (referral_id is None) == (transfer_id is None):
        raise ValueError("a notice is owed for exactly one referral or one transfer")
    of_request = (
        PersonNotice.referral_id == referral_id
        if referral_id is not None
        else PersonNotice.transfer_id == transfer_id
    )
    found = db.scalar(select(PersonNotice.id).where(of_request))
    if found is not None:
        return None
    case = db.get_one(Case, case_id)
    # a basis the policy no longer lists keeps the default cadence: the news is still owed
    cadence = rule.inform_person if rule is not None else InformPerson()
    notice = PersonNotice(
        id=new_id(),
        case_id=case.id,
        organization_id=organization_id or case.owner_organization_id,
        referral_id=referral_id,
        transfer_id=transfer_id,
        recipient_organization_id=recipient_organization_id,
        legal_basis=legal_basis,
        requested_by=requested_by,
        disclosed_at=disclosed_at,
        created_at=utcnow(),
        remind_at=disclosed_at + cadence.first_after,
    )
    db.add(notice)
    record(
        db,
        actor="system:hub",
        action="person_notice.owed",
        object_type=OBJECT_TYPE,
        object_id=notice.id,
        details={
            "case_id": case.id,
            "referral_id": referral_id,
            "transfer_id": transfer_id,
            "legal_basis": notice.legal_basis,
            "organization_id": notice.organization_id,
            "remind_at": notice.remind_at.isoformat() if notice.remind_at else None,
        },
    )
    return notice


def read(notice: PersonNotice) -> PersonNoticeRead:
    told = notice.told_at is not None
    return PersonNoticeRead(
        id=notice.id,
        case_id=notice.case_id,
        referral_id=notice.referral_id,
        transfer_id=notice.transfer_id,
        recipient_organization_id=notice.recipient_organization_id,
        legal_basis=notice.legal_basis,
        requested_by=notice.requested_by,
        disclosed_at=notice.disclosed_at,
        status=Status.told if told else Status.owed,
        remind_at=None if told else notice.remind_at,
        reminders=notice.reminders,
        told_at=notice.told_at,
        told_whom=notice.told_whom,
        told_how=notice.told_how,
        recorded_by=notice.recorded_by,
        recorded_at=notice.recorded_at,
    )


def _of(organization_id: str) -> Select[tuple[PersonNotice]]:
    """THE access rule: the notices the office owes (it owns their cases)."""
    return select(PersonNotice).where(PersonNotice.organization_id == organization_id)


def get(*, db: Session, notice_id: str, organization_id: str) -> PersonNotice:
    notice = db.scalar(_of(organization_id).where(PersonNotice.id == notice_id))
    if notice is None:
        raise NotFound("person_notice")
    return notice


def get_page(
    *,
    db: Session,
    organization_id: str,
    status: Status | None,
    case_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[PersonNoticeRead], str | None]:
    """The office's notices, newest first."""
    query = _of(organization_id)
    if status is Status.owed:
        query = query.where(PersonNotice.told_at.is_(None))
    elif status is Status.told:
        query = query.where(PersonNotice.told_at.is_not(None))
    if case_id is not None:
        query = query.where(PersonNotice.case_id == case_id)
    query = pagination.page(
        query,
        time_column=PersonNotice.created_at,
        id_column=PersonNotice.id,
        cursor=cursor,
        limit=limit,
    )
    rows = list(db.scalars(query))
    cursor_next = pagination.next_cursor(rows, limit, time_attr="created_at")
    return [read(row) for row in rows[:limit]], cursor_next


def count_owed(*, db: Session, organization_id: str) -> int:
    """How many people the office still owes the news (the console's navigation count)."""
    query = _of(organization_id).where(PersonNotice.told_at.is_(None))
    return db.scalar(select(func.count()).select_from(query.subquery())) or 0


def record_told(*, db: Session, notice: PersonNotice, told: Told, actor: str) -> PersonNotice:
    """Record that the person (or their caregiver) was told: once (409 `already_told`), at a
    time not in the future nor before the disclosure (422 `invalid_told_at`)."""
    db.refresh(notice, with_for_update=True)
    if notice.told_at is not None:
        raise Conflict("already_told", "The person has already been recorded as told")
    now = utcnow()
    at = told.told_at or now
    if at > now or at < notice.disclosed_at:
        raise Unprocessable(
            "invalid_told_at",
            "The time the person was told is out of range",
            "It must be after the disclosure and not in the future.",
            field="told_at",
        )
    notice.told_at = at
    notice.told_whom = told.told_whom.value
    notice.told_how = told.told_how.value
    notice.recorded_by = actor
    notice.recorded_at = now
    notice.remind_at = None
    record(
        db,
        actor=actor,
        action="person_notice.told",
        object_type=OBJECT_TYPE,
        object_id=notice.id,
        details={
            "case_id": notice.case_id,
            "referral_id": notice.referral_id,
            "transfer_id": notice.transfer_id,
            "legal_basis": notice.legal_basis,
            "told_at": at.isoformat(),
            "told_whom": notice.told_whom,
            "told_how": notice.told_how,
        },
    )
    return notice


@dataclass
class ReminderReport:
    reminded: list[str] = field(default_factory=list)


def _remind(db: Session, notice: PersonNotice, policy: Policy, now: datetime) -> bool:
    if notice.told_at is not None or notice.remind_at is None or notice.remind_at > now:
        return False
    rule = policy.legal_bases.get(notice.legal_basis)
    # a basis dropped from the policy since keeps the default cadence: the news is still owed
    cadence = rule.inform_person if rule is not None else InformPerson()
    notice.reminders += 1
    notice.remind_at = now + cadence.remind_every
    notifications.announce(
        db,
        audiences=REMINDED,
        object_type=OBJECT_TYPE,
        object_id=notice.id,
        step="reminder",
        stage=None,
        parties=Parties(
            sender_organization_id=notice.organization_id,
            recipient_organization_id=notice.recipient_organization_id,
            made_by=person_of(notice.requested_by),
        ),
    )
    record(
        db,
        actor="system:hub",
        action="person_notice.reminded",
        object_type=OBJECT_TYPE,
        object_id=notice.id,
        details={"case_id": notice.case_id, "reminders": notice.reminders},
    )
    return True


def remind(runtime: Services, *, now: datetime | None = None) -> ReminderReport:
    """One pass: each notice still owed whose reminder is due, in its own transaction (locked,
    skipping one another pass holds). Running it twice at once reminds once."""
    now = now or utcnow()
    report = ReminderReport()
    with runtime.sessions() as db:
        due = list(
            db.scalars(
                select(PersonNotice.id)
                .where(PersonNotice.told_at.is_(None), PersonNotice.remind_at <= now)
                .order_by(PersonNotice.remind_at, PersonNotice.id)
                .limit(BATCH)
            )
        )
    for notice_id in due:
        with runtime.sessions() as db, db.begin():
            notice = db.scalar(
                select(PersonNotice)
                .where(PersonNotice.id == notice_id)
                .with_for_update(skip_locked=True)
            )
            if notice is not None and _remind(db, notice, runtime.policy, now):
                report.reminded.append(notice.id)
    return report
