"""Referrals (orientations): who may see one, how it moves, and its history.

One access rule (`visible_to`) serves single reads and lists: the sender sees its referrals,
the recipient those that were sent to it (never one still held for review or refused by it).
Every change of status goes through `move`, which asks `hub.lifecycle.check` and writes a
lifecycle event and an audit entry; nothing else changes a referral's status.

Creating and sending (with the consent gate) is `hub.referrals.sending`; the recipient's read of
the data is `hub.referrals.reading`; the consent-withdrawal cascade is `hub.referrals.cascade`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from hub import lifecycle
from hub.api import pagination
from hub.api.problems import NotFound, Unprocessable
from hub.api.vocabulary import check as vocabulary_check
from hub.clock import utcnow
from hub.crypto.envelope import decrypt, encrypt
from hub.crypto.keyring import KeyEncryptionKeys
from hub.lifecycle import Party, history, reasons
from hub.lifecycle.schemas import EventRead
from hub.organizations.service import below
from hub.outbox.service import enqueue
from hub.policy.loader import Policy
from hub.referrals import follow_up
from hub.referrals.lifecycle import (
    ACCEPTED,
    ACKNOWLEDGED,
    AWAITING_ACKNOWLEDGEMENT,
    CANCELLED,
    DELIVERED,
    DENIED,
    FAILED,
    FHIR_TASK_STATUS,
    IN_PROGRESS,
    MOVES,
    PENDING_REVIEW,
    SENT,
)
from hub.referrals.models import Referral
from hub.referrals.schemas import ListScope, ReferralSummary, Role, SupervisedReferral
from hub.reviews.service import URGENCY_RANK

OBJECT_TYPE = "referral"
REFERRALS = "referrals"
NOTE_FIELD = "note"
# the other party is told of a party's move (its webhook receives `referral.<status>`)
PARTY_NOTICE_TOPIC = "referral.party_notice"
# the parties' moves that close a referral, and the code each leaves as its status_reason
PARTY_REASON_CODES = {
    "cancel": reasons.CANCELLED_BY_SENDER,
    "decline": reasons.DECLINED_BY_RECIPIENT,
}
# the recipient's moves that take a code beside their words: the policy vocabulary it comes
# from, the body member naming it, and the referral's column keeping it
ANSWER_CODES = {
    "decline": ("decline_reasons", "reason_code", "decline_reason_code"),
    "complete": ("outcomes", "outcome_code", "outcome_code"),
}
# the recipient's inbox: referrals still waiting for its answer, and those it is working on
TO_ANSWER = (SENT, DELIVERED, ACKNOWLEDGED)
RECEIVED_OPEN = (*TO_ANSWER, ACCEPTED, IN_PROGRESS)
INBOX_LIMIT = 200
# what the hub (or the sender, or a reviewer) closes, never the recipient: the delivery workflow
# (`hub.delivery`, a layer up) hears of each such move through `on_closed`, in the move's
# transaction, and writes it to a partner's FHIR Task (`hub.delivery.fhir_updates`)
CLOSED_BY_THE_HUB = frozenset({CANCELLED, DENIED, FAILED})
Closed = Callable[[Session, Referral], None]
_closed_listeners: list[Closed] = []


def on_closed(listener: Closed) -> Closed:
    """Register what hears of a referral the hub closed (the delivery workflow's, once)."""
    _closed_listeners[:] = [listener]
    return listener


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
    """Past the acknowledgement deadline, or past that of the move owed next
    (`follow_up.is_overdue`)."""
    return (
        referral.status in AWAITING_ACKNOWLEDGEMENT
        and referral.acknowledge_by is not None
        and referral.acknowledge_by < now
    ) or follow_up.is_overdue(referral, now)


def seal_note(key: bytes, referral_id: str, note: str) -> bytes:
    return encrypt(key, note.encode("utf-8"), table=REFERRALS, row=referral_id, field=NOTE_FIELD)


def open_note(key: bytes | None, referral: Referral) -> str | None:
    if key is None or referral.note_ciphertext is None:
        return None
    plain = decrypt(
        key, referral.note_ciphertext, table=REFERRALS, row=referral.id, field=NOTE_FIELD
    )
    return plain.decode("utf-8")


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
    coded: str | None = None,
) -> None:
    """Make `action` by the referral lifecycle table (`hub.lifecycle.history.apply`: 409/422
    otherwise); `coded`: the party's coded answer, which stands for its words if it gave
    none."""
    history.apply(
        db=db,
        keyring=keyring,
        table=MOVES,
        object_type=OBJECT_TYPE,
        tracked=referral,
        action=action,
        party=party,
        actor=actor,
        organization_id=organization_id,
        reason_code=reason_code,
        text=text,
        coded=coded,
    )
    if referral.status in CLOSED_BY_THE_HUB:
        for listener in _closed_listeners:
            listener(db, referral)


def party_move(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    referral: Referral,
    action: str,
    actor: str,
    organization_id: str,
    text: str | None,
    code: str | None = None,
    policy: Policy | None = None,
    follow_up_by: datetime | None = None,
) -> None:
    """A move asked for by one of the parties (through the API, or read from its FHIR Task);
    the other party is told (`PARTY_NOTICE_TOPIC`: its webhook, when it has one).

    A decline or a completion may give a code (`ANSWER_CODES`) beside or instead of its words:
    checked against the `policy`'s vocabulary (422 `unknown_value`), kept on the referral.
    The move sets what is owed next and by when (`follow_up.schedule`, from the `policy`; the
    recipient may give the follow-up date when starting: `follow_up_by`, in the future)."""
    party = party_of(referral, organization_id)
    from_status = referral.status
    now = utcnow()
    if code is not None:
        _check_code(policy, action, code)
    if follow_up_by is not None and follow_up_by <= now:
        raise Unprocessable(
            "follow_up_in_past",
            "The follow-up date has passed",
            "follow_up_by must be later than now.",
            field="follow_up_by",
        )
    move(
        db=db,
        keyring=keyring,
        referral=referral,
        action=action,
        party=party,
        actor=actor,
        organization_id=organization_id,
        reason_code=PARTY_REASON_CODES.get(action),
        text=text.strip() if text and text.strip() else None,
        coded=code,
    )
    if code is not None:
        setattr(referral, ANSWER_CODES[action][2], code)
    follow_up.schedule(referral, action, policy, now=now, follow_up_by=follow_up_by)
    told = Party.recipient if party is Party.sender else Party.sender
    # a recipient that never had the referral (still `sent`) has nothing to stop
    if told is Party.sender or from_status not in (PENDING_REVIEW, SENT):
        enqueue(
            db=db,
            topic=PARTY_NOTICE_TOPIC,
            payload={"referral_id": referral.id, "status": referral.status, "to": told.value},
        )


def _check_code(policy: Policy | None, action: str, code: str) -> None:
    if action not in ANSWER_CODES or policy is None:
        raise Unprocessable("unknown_value", "This move takes no code", field="code", allowed=[])
    vocabulary, member, _ = ANSWER_CODES[action]
    vocabulary_check(policy, vocabulary, code, field=member)


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
        "legal_basis": referral.legal_basis,
        "service_id": referral.service_id,
        "service_override": referral.service_override,
        "sent_at": referral.sent_at,
        "acknowledge_by": referral.acknowledge_by,
        "overdue": is_overdue(referral, now),
        "decline_reason_code": referral.decline_reason_code,
        "outcome_code": referral.outcome_code,
        "due_move": referral.due_move if referral.due_move else None,
        "due_at": referral.due_at if referral.due_move else None,
        "escalated": referral.due_escalated_at is not None,
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        "allowed_actions": lifecycle.allowed_actions(MOVES, status=referral.status, party=party),
    }


def summary(referral: Referral, party: Party) -> ReferralSummary:
    return ReferralSummary(**summary_fields(referral, party, utcnow()))


def supervised_by(organization_id: str, role: Role | None = None) -> ColumnElement[bool]:
    """The referrals of the offices below the organisation (any depth): sent by one of them,
    or sent to one of them (once sent). `role` narrows it as for the organisation's own."""
    offices = below(organization_id)
    sent = Referral.from_organization_id.in_(offices)
    received = and_(Referral.to_organization_id.in_(offices), Referral.sent_at.is_not(None))
    if role is Role.sent:
        return sent
    if role is Role.received:
        return received
    return or_(sent, received)


def supervised(referral: Referral, now: datetime) -> SupervisedReferral:
    """A referral of an office below, as the office above sees it: no case, no data."""
    return SupervisedReferral(
        id=referral.id,
        from_organization_id=referral.from_organization_id,
        to_organization_id=referral.to_organization_id,
        service_type=referral.service_type,
        purpose=referral.purpose,
        urgency=referral.urgency,
        status=referral.status,
        status_reason=referral.status_reason,
        fhir_status=FHIR_TASK_STATUS[referral.status],
        sent_at=referral.sent_at,
        acknowledge_by=referral.acknowledge_by,
        overdue=is_overdue(referral, now),
        created_at=referral.created_at,
        updated_at=referral.updated_at,
    )


def get_supervised(*, db: Session, referral_id: str, organization_id: str) -> SupervisedReferral:
    """One referral of an office below the organisation, as `?scope=tree` lists it (no case,
    no data); 404 for any other, the organisation's own included (it reads those in full)."""
    referral = db.scalar(
        select(Referral).where(Referral.id == referral_id, supervised_by(organization_id))
    )
    if referral is None:
        raise NotFound("referral")
    return supervised(referral, utcnow())


def _item(
    referral: Referral, organization_id: str, now: datetime
) -> ReferralSummary | SupervisedReferral:
    """The caller's own referral in full summary; one of an office below as supervision."""
    if referral.from_organization_id == organization_id or (
        referral.to_organization_id == organization_id and referral.sent_at is not None
    ):
        return ReferralSummary(**summary_fields(referral, party_of(referral, organization_id), now))
    return supervised(referral, now)


def get_page(
    *,
    db: Session,
    organization_id: str,
    role: Role | None,
    statuses: list[str] | None,
    overdue: bool | None,
    cursor: str | None,
    limit: int,
    scope: ListScope = ListScope.own,
) -> tuple[list[ReferralSummary | SupervisedReferral], str | None]:
    """The organisation's referrals, newest first; the access rule is part of the query. With
    `scope` tree, also those of the offices below it, as `SupervisedReferral` (no data)."""
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
    if scope is ListScope.tree:
        condition = or_(condition, supervised_by(organization_id, role))
    query = select(Referral).where(condition)
    if statuses:
        query = query.where(Referral.status.in_(statuses))
    now = utcnow()
    late = overdue_condition(now)
    if overdue is True:
        query = query.where(late)
    elif overdue is False:
        query = query.where(~late)
    query = pagination.page(
        query, time_column=Referral.created_at, id_column=Referral.id, cursor=cursor, limit=limit
    )
    rows = list(db.scalars(query))
    cursor_next = pagination.next_cursor(rows, limit, time_attr="created_at")
    items = [_item(r, organization_id, now) for r in rows[:limit]]
    return items, cursor_next


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """`is_overdue`, as a query condition."""
    unacknowledged = and_(
        Referral.status.in_(sorted(AWAITING_ACKNOWLEDGEMENT)),
        Referral.acknowledge_by.is_not(None),
        Referral.acknowledge_by < now,
    )
    return or_(unacknowledged, follow_up.overdue_condition(now))


def inbox(
    *,
    db: Session,
    organization_id: str,
    statuses: tuple[str, ...] = RECEIVED_OPEN,
    limit: int = INBOX_LIMIT,
) -> list[ReferralSummary]:
    """The referrals the organisation received, what needs action first: the overdue ones,
    then by urgency (emergency, high, normal), then the longest waiting."""
    now = utcnow()
    query = (
        select(Referral)
        .where(received_by(organization_id), Referral.status.in_(statuses))
        .order_by(
            case((overdue_condition(now), 0), else_=1),
            case(URGENCY_RANK, value=Referral.urgency, else_=len(URGENCY_RANK)),
            Referral.sent_at,
            Referral.id,
        )
        .limit(limit)
    )
    return [ReferralSummary(**summary_fields(r, Party.recipient, now)) for r in db.scalars(query)]


def count_received(
    *, db: Session, organization_id: str, statuses: tuple[str, ...] = TO_ANSWER
) -> int:
    """How many referrals the organisation received are in `statuses` (by default: waiting
    for its acknowledgement or its answer)."""
    query = (
        select(func.count())
        .select_from(Referral)
        .where(received_by(organization_id), Referral.status.in_(statuses))
    )
    return db.scalar(query) or 0


def events(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    referral: Referral,
    viewer: str | None = None,
    text_withheld_from: str | None = None,
) -> list[EventRead]:
    """The referral's history, oldest first, as the organisation `viewer` sees it (resolve
    the referral with `get` first). A recipient reads it through `reading.events`, which asks
    the gate before the sender's free text reaches it."""
    return history.history(
        db=db,
        keyring=keyring,
        object_type=OBJECT_TYPE,
        tracked=referral,
        viewer=viewer,
        text_withheld_from=text_withheld_from,
    )


def case_received(*, db: Session, referral_id: str, organization_id: str) -> str | None:
    """The case of a referral sent to the organisation, or None (none such, or not sent to it):
    how a transfer request names a case by a referral its requester received
    (`hub.transfers.requests.service`, connected by `hub.wiring`)."""
    return db.scalar(
        select(Referral.case_id).where(Referral.id == referral_id, received_by(organization_id))
    )
