"""Who may see a case transfer, how it moves, and its history.

One access rule (`visible_to`) serves single reads and lists: the sender sees its transfers,
the recipient those that were sent to it (never one held for review, or cancelled before it
left). Every change of status goes through `move`, which asks `hub.lifecycle.check` and writes
a lifecycle event and an audit entry; nothing else changes a transfer's status.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from hub.api.problems import NotFound
from hub.crypto.keyring import KeyEncryptionKeys
from hub.lifecycle import Party, history, reasons
from hub.lifecycle.models import LifecycleEvent
from hub.lifecycle.schemas import EventRead
from hub.transfers.lifecycle import MOVES, SENT
from hub.transfers.models import Transfer

OBJECT_TYPE = "transfer"

PARTY_REASON_CODES = {
    "cancel": reasons.CANCELLED_BY_SENDER,
    "reject": reasons.REJECTED_BY_RECIPIENT,
}


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
    """Make `action` by the transfer lifecycle table (`hub.lifecycle.history.apply`: 409/422
    otherwise)."""
    history.apply(
        db=db,
        keyring=keyring,
        table=MOVES,
        object_type=OBJECT_TYPE,
        tracked=transfer,
        action=action,
        party=party,
        actor=actor,
        organization_id=organization_id,
        reason_code=reason_code,
        text=text,
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


def events(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    transfer: Transfer,
    viewer: str | None = None,
    text_withheld_from: str | None = None,
) -> list[EventRead]:
    """The transfer's history, oldest first, as the organisation `viewer` sees it (resolve
    the transfer with `get` first). A recipient reads it through `offering.events`, which
    asks the gate before the sender's free text reaches it."""
    return history.history(
        db=db,
        keyring=keyring,
        object_type=OBJECT_TYPE,
        tracked=transfer,
        viewer=viewer,
        text_withheld_from=text_withheld_from,
    )
