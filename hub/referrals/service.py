"""Referrals (orientations): who may see one, how it moves, and its history.

One access rule (`visible_to`) serves single reads and lists: the sender sees its referrals,
the recipient those that were sent to it (never one still held for review or refused by it).
Every change of status goes through `move`, which asks `hub.lifecycle.check` and writes a
lifecycle event and an audit entry; nothing else changes a referral's status.

Creating and sending (with the consent gate) is `hub.referrals.sending`; the recipient's read of
the data is `hub.referrals.inbox`; the consent-withdrawal cascade is `hub.referrals.cascade`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from hub import lifecycle
from hub.api import pagination
from hub.api.problems import NotFound, Unprocessable
from hub.audit.service import record as audit
from hub.cases.models import Case
from hub.cases.service import owner_for_case
from hub.clock import utcnow
from hub.crypto import service as keys
from hub.crypto.envelope import decrypt, encrypt
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.base import new_id
from hub.disclosures.models import LifecycleEvent
from hub.lifecycle import Party
from hub.referrals.lifecycle import AWAITING_ACKNOWLEDGEMENT, FHIR_TASK_STATUS, MOVES
from hub.referrals.models import Referral
from hub.referrals.schemas import EventRead, ReferralSummary, Role

OBJECT_TYPE = "referral"
SYSTEM_ACTOR = "system:hub"
REFERRALS = "referrals"
EVENTS = "lifecycle_events"
NOTE_FIELD = "note"
TEXT_FIELD = "text"

# status_reason codes (a code, never free text: the text is sealed in the event)
CANCELLED_BY_SENDER = "cancelled_by_sender"
DECLINED_BY_RECIPIENT = "declined_by_recipient"
CONSENT_WITHDRAWN = "consent_withdrawn"
REVIEW_DENIED = "review_denied"
CONSENT_DENIED = "consent_denied"
REVIEW_REQUIRED = "review_required"
UNDELIVERABLE = "undeliverable"
# the parties' moves that close a referral, and the code each leaves as its status_reason
PARTY_REASON_CODES = {"cancel": CANCELLED_BY_SENDER, "decline": DECLINED_BY_RECIPIENT}


def visible_to(organization_id: str) -> ColumnElement[bool]:
    """THE access rule, for single reads and lists alike: the sender's referrals, and those
    sent to the recipient."""
    return or_(Referral.from_organization_id == organization_id, received_by(organization_id))


def received_by(organization_id: str) -> ColumnElement[bool]:
    return and_(Referral.to_organization_id == organization_id, Referral.sent_at.is_not(None))


def get(*, db: Session, referral_id: str, organization_id: str, lock: bool = False) -> Referral:
    """The referral if the caller's organisation is a party to it; otherwise 404."""
    query = select(Referral).where(Referral.id == referral_id, visible_to(organization_id))
    if lock:
        # two moves of one referral at once: the second waits and sees the first's status
        query = query.with_for_update()
    referral = db.scalar(query)
    if referral is None:
        raise NotFound("referral")
    return referral


def party_of(referral: Referral, organization_id: str) -> Party:
    """The caller's side (resolve the referral with `get` first, so it is one of the two)."""
    if referral.from_organization_id == organization_id:
        return Party.sender
    if referral.to_organization_id == organization_id and referral.sent_at is not None:
        return Party.recipient
    raise NotFound("referral")


def is_overdue(referral: Referral, now: datetime) -> bool:
    return (
        referral.status in AWAITING_ACKNOWLEDGEMENT
        and referral.acknowledge_by is not None
        and referral.acknowledge_by < now
    )


def case_key(*, db: Session, keyring: KeyEncryptionKeys, case_id: str) -> bytes | None:
    """The case's data key, or None once the case is erased (what it sealed is gone too)."""
    case = db.get_one(Case, case_id)
    if case.erased_at is not None:
        return None
    try:
        return keys.data_key(db=db, keyring=keyring, owner=owner_for_case(case_id))
    except keys.DataKeyMissing:
        return None


def seal_note(key: bytes, referral_id: str, note: str) -> bytes:
    return encrypt(key, note.encode("utf-8"), table=REFERRALS, row=referral_id, field=NOTE_FIELD)


def open_note(key: bytes | None, referral: Referral) -> str | None:
    if key is None or referral.note_ciphertext is None:
        return None
    plain = decrypt(
        key, referral.note_ciphertext, table=REFERRALS, row=referral.id, field=NOTE_FIELD
    )
    return plain.decode("utf-8")


def record_event(
    *,
    db: Session,
    key: bytes | None,
    referral: Referral,
    actor: str,
    organization_id: str | None,
    from_status: str | None,
    to_status: str,
    reason_code: str | None = None,
    text: str | None = None,
) -> LifecycleEvent:
    """One line of the referral's history; free text sealed with the case's key (dropped once
    the case is erased: it would be its personal data)."""
    event_id = new_id()
    sealed = None
    if text and key is not None:
        sealed = encrypt(key, text.encode("utf-8"), table=EVENTS, row=event_id, field=TEXT_FIELD)
    event = LifecycleEvent(
        id=event_id,
        object_type=OBJECT_TYPE,
        object_id=referral.id,
        at=utcnow(),
        actor=actor,
        organization_id=organization_id,
        from_status=from_status,
        to_status=to_status,
        reason_code=reason_code,
        text_ciphertext=sealed,
    )
    db.add(event)
    return event


def move(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    referral: Referral,
    action: str,
    party: Party,
    actor: str,
    organization_id: str | None,
    reason_code: str | None = None,
    text: str | None = None,
) -> None:
    """Make `action` if the lifecycle table allows it to `party` from the current status.

    409 `invalid_transition` otherwise (the other party's move, or an illegal one); 422
    `reason_required` when the move needs a reason and none was given. The parties give
    free text (`text`); the hub's own moves give a code (`reason_code`).
    """
    # the parties explain themselves in words; the hub and reviewers' flows with a code
    given = text if party in (Party.sender, Party.recipient) else reason_code
    rule = lifecycle.check(MOVES, action, status=referral.status, party=party, reason=given)
    from_status = referral.status
    referral.status = rule.target
    referral.status_reason = reason_code
    referral.updated_at = utcnow()
    key = case_key(db=db, keyring=keyring, case_id=referral.case_id) if text else None
    record_event(
        db=db,
        key=key,
        referral=referral,
        actor=actor,
        organization_id=organization_id,
        from_status=from_status,
        to_status=rule.target,
        reason_code=reason_code,
        text=text,
    )
    audit(
        db,
        actor=actor,
        action=f"referral.{action}",
        object_type=OBJECT_TYPE,
        object_id=referral.id,
        details={
            "case_id": referral.case_id,
            "organization_id": organization_id,
            "from_status": from_status,
            "to_status": rule.target,
            "reason_code": reason_code,
        },
    )


def party_move(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    referral: Referral,
    action: str,
    actor: str,
    organization_id: str,
    text: str | None,
) -> None:
    """A move asked for through the API by one of the parties."""
    move(
        db=db,
        keyring=keyring,
        referral=referral,
        action=action,
        party=party_of(referral, organization_id),
        actor=actor,
        organization_id=organization_id,
        reason_code=PARTY_REASON_CODES.get(action),
        text=text.strip() if text else None,
    )


def summary_fields(referral: Referral, party: Party, now: datetime) -> dict[str, Any]:
    sender = party is Party.sender
    return {
        "id": referral.id,
        "case_id": referral.case_id,
        "from_organization_id": referral.from_organization_id,
        "to_organization_id": referral.to_organization_id,
        "service_type": referral.service_type,
        "purpose": referral.purpose,
        "urgency": referral.urgency,
        "status": referral.status,
        "status_reason": referral.status_reason,
        "fhir_status": FHIR_TASK_STATUS[referral.status],
        "categories": list(referral.categories),
        "withheld_categories": list(referral.withheld_categories) if sender else None,
        "consent_ids": list(referral.consent_ids),
        "decision_id": referral.decision_id,
        "review_id": referral.review_id if sender else None,
        "sent_at": referral.sent_at,
        "acknowledge_by": referral.acknowledge_by,
        "overdue": is_overdue(referral, now),
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        "allowed_actions": lifecycle.allowed_actions(MOVES, status=referral.status, party=party),
    }


def summary(referral: Referral, party: Party) -> ReferralSummary:
    return ReferralSummary(**summary_fields(referral, party, utcnow()))


def get_page(
    *,
    db: Session,
    organization_id: str,
    role: Role | None,
    statuses: list[str] | None,
    overdue: bool | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ReferralSummary], str | None]:
    """The organisation's referrals, newest first; the access rule is part of the query."""
    if any(s not in FHIR_TASK_STATUS for s in statuses or ()):
        # not echoed: whatever a client puts in a query string stays out of answers
        raise Unprocessable(
            "unknown_value",
            "Unknown referral status",
            field="status",
            allowed=list(FHIR_TASK_STATUS),
        )
    if role is Role.sent:
        condition = Referral.from_organization_id == organization_id
    elif role is Role.received:
        condition = received_by(organization_id)
    else:
        condition = visible_to(organization_id)
    query = select(Referral).where(condition)
    if statuses:
        query = query.where(Referral.status.in_(statuses))
    now = utcnow()
    late = and_(
        Referral.status.in_(sorted(AWAITING_ACKNOWLEDGEMENT)),
        Referral.acknowledge_by.is_not(None),
        Referral.acknowledge_by < now,
    )
    if overdue is True:
        query = query.where(late)
    elif overdue is False:
        query = query.where(~late)
    query = pagination.page(
        query, time_column=Referral.created_at, id_column=Referral.id, cursor=cursor, limit=limit
    )
    rows = list(db.scalars(query))
    cursor_next = pagination.next_cursor(rows, limit, time_attr="created_at")
    items = [
        ReferralSummary(**summary_fields(r, party_of(r, organization_id), now))
        for r in rows[:limit]
    ]
    return items, cursor_next


def events(*, db: Session, keyring: KeyEncryptionKeys, referral: Referral) -> list[EventRead]:
    """The referral's history, oldest first (resolve the referral with `get` first)."""
    rows = db.scalars(
        select(LifecycleEvent)
        .where(LifecycleEvent.object_type == OBJECT_TYPE, LifecycleEvent.object_id == referral.id)
        .order_by(LifecycleEvent.at, LifecycleEvent.id)
    ).all()
    key = None
    if any(row.text_ciphertext is not None for row in rows):
        key = case_key(db=db, keyring=keyring, case_id=referral.case_id)
    out = []
    for row in rows:
        text = None
        if key is not None and row.text_ciphertext is not None:
            text = decrypt(
                key, row.text_ciphertext, table=EVENTS, row=row.id, field=TEXT_FIELD
            ).decode("utf-8")
        out.append(
            EventRead(
                at=row.at,
                actor=row.actor,
                organization_id=row.organization_id,
                from_status=row.from_status,
                to_status=row.to_status,
                reason_code=row.reason_code,
                text=text,
            )
        )
    return out
