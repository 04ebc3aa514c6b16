"""Who may see a case transfer, how it moves, and its history.

One access rule (`visible_to`) serves single reads and lists: the sender sees its transfers,
the recipient those that were sent to it (never one held for review, or cancelled before it
left). Every change of status goes through `move`, which asks `hub.lifecycle.check` and writes
a lifecycle event and an audit entry; nothing else changes a transfer's status.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from hub import lifecycle
from hub.api.problems import NotFound
from hub.audit.service import record as audit
from hub.clock import utcnow
from hub.crypto.envelope import decrypt, encrypt
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.base import new_id
from hub.disclosures.models import LifecycleEvent
from hub.lifecycle import Party
from hub.referrals.schemas import EventRead
from hub.referrals.service import EVENTS, TEXT_FIELD, case_key
from hub.referrals.service import SYSTEM_ACTOR as SYSTEM_ACTOR
from hub.transfers.lifecycle import MOVES, SENT
from hub.transfers.models import Transfer

OBJECT_TYPE = "transfer"

# status_reason codes (a code, never free text: the text is sealed in the event)
CANCELLED_BY_SENDER = "cancelled_by_sender"
REJECTED_BY_RECIPIENT = "rejected_by_recipient"
CONSENT_WITHDRAWN = "consent_withdrawn"
REVIEW_DENIED = "review_denied"
CONSENT_DENIED = "consent_denied"
REVIEW_REQUIRED = "review_required"
OWNERSHIP_MOVED = "ownership_moved"
PARTY_REASON_CODES = {"cancel": CANCELLED_BY_SENDER, "reject": REJECTED_BY_RECIPIENT}


def _was_sent() -> ColumnElement[bool]:
    # every way to `sent` (at creation, or on a review's approval) writes an event to `sent`;
    # the events' (object_type, object_id) index answers this without a scan
    return exists().where(
        LifecycleEvent.object_type == OBJECT_TYPE,
        LifecycleEvent.object_id == Transfer.id,
        LifecycleEvent.to_status == SENT,
    )


def received_by(organization_id: str) -> ColumnElement[bool]:
    return and_(Transfer.to_organization_id == organization_id, _was_sent())


def visible_to(organization_id: str) -> ColumnElement[bool]:
    """THE access rule, for single reads and lists alike: the sender's transfers, and those
    that were sent to the recipient."""
    return or_(Transfer.from_organization_id == organization_id, received_by(organization_id))


def get(*, db: Session, transfer_id: str, organization_id: str, lock: bool = False) -> Transfer:
    """The transfer if the caller's organisation is a party to it; otherwise 404."""
    query = select(Transfer).where(Transfer.id == transfer_id, visible_to(organization_id))
    if lock:
        # two moves of one transfer at once: the second waits and sees the first's status
        query = query.with_for_update(of=Transfer)
    transfer = db.scalar(query)
    if transfer is None:
        raise NotFound("transfer")
    return transfer


def party_of(transfer: Transfer, organization_id: str) -> Party:
    """The caller's side (resolve the transfer with `get` first, so it is one of the two)."""
    if transfer.from_organization_id == organization_id:
        return Party.sender
    if transfer.to_organization_id == organization_id:
        return Party.recipient
    raise NotFound("transfer")


def record_event(
    *,
    db: Session,
    key: bytes | None,
    transfer: Transfer,
    actor: str,
    organization_id: str | None,
    from_status: str | None,
    to_status: str,
    reason_code: str | None = None,
    text: str | None = None,
) -> LifecycleEvent:
    """One line of the transfer's history; free text sealed with the case's key (the same
    sealing as a referral's events, so one reader opens both)."""
    event_id = new_id()
    sealed = None
    if text and key is not None:
        sealed = encrypt(key, text.encode("utf-8"), table=EVENTS, row=event_id, field=TEXT_FIELD)
    event = LifecycleEvent(
        id=event_id,
        object_type=OBJECT_TYPE,
        object_id=transfer.id,
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
    transfer: Transfer,
    action: str,
    party: Party,
    actor: str,
    organization_id: str | None,
    reason_code: str | None = None,
    text: str | None = None,
) -> None:
    """Make `action` if the lifecycle table allows it to `party` from the current status.

    409 `invalid_transition` otherwise (the other party's move, or an illegal one); 422
    `reason_required` when the move needs a reason and none was given. The parties give free
    text (`text`); the hub's own moves and reviewers' flows give a code (`reason_code`).
    """
    given = text if party in (Party.sender, Party.recipient) else reason_code
    rule = lifecycle.check(MOVES, action, status=transfer.status, party=party, reason=given)
    from_status = transfer.status
    transfer.status = rule.target
    transfer.status_reason = reason_code
    transfer.updated_at = utcnow()
    key = case_key(db=db, keyring=keyring, case_id=transfer.case_id) if text else None
    record_event(
        db=db,
        key=key,
        transfer=transfer,
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
        action=f"transfer.{action}",
        object_type=OBJECT_TYPE,
        object_id=transfer.id,
        details={
            "case_id": transfer.case_id,
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
    transfer: Transfer,
    action: str,
    actor: str,
    organization_id: str,
    text: str | None,
) -> None:
    """reject or cancel, asked for through the API by one of the parties."""
    move(
        db=db,
        keyring=keyring,
        transfer=transfer,
        action=action,
        party=party_of(transfer, organization_id),
        actor=actor,
        organization_id=organization_id,
        reason_code=PARTY_REASON_CODES.get(action),
        text=text.strip() if text else None,
    )


def events(*, db: Session, keyring: KeyEncryptionKeys, transfer: Transfer) -> list[EventRead]:
    """The transfer's history, oldest first (resolve the transfer with `get` first)."""
    rows = db.scalars(
        select(LifecycleEvent)
        .where(LifecycleEvent.object_type == OBJECT_TYPE, LifecycleEvent.object_id == transfer.id)
        .order_by(LifecycleEvent.at, LifecycleEvent.id)
    ).all()
    key = None
    if any(row.text_ciphertext is not None for row in rows):
        key = case_key(db=db, keyring=keyring, case_id=transfer.case_id)
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
