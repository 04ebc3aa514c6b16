"""Applying a lifecycle move to a referral or a transfer, and reading their history back.

`apply` is the one place either changes status: it asks the domain's table
(`hub.tables.check`), sets the status and its reason code, writes the event (free text
sealed with the case's data key, dropped once the case is erased: it would be its personal
data) and the audit entry `<object type>.<action>`. Each domain calls it with its own table.
A move that takes the object out of review by any other route than the review's decision
closes its pending review (`hub.reviews.closing`): no review outlives its request.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.service import record as audit
from hub.auth.tokens import actor_seen_by
from hub.cases.service import live_key
from hub.clock import utcnow
from hub.crypto.envelope import decrypt, encrypt
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.base import new_id
from hub.db.inserts import insert_into
from hub.disclosures import service as disclosures
from hub.disclosures.models import Disclosure
from hub.lifecycle import tables
from hub.lifecycle.models import LifecycleEvent
from hub.lifecycle.schemas import EventRead
from hub.lifecycle.tables import Move, Party
from hub.reviews.closing import close_pending

EVENTS = "lifecycle_events"
TEXT_FIELD = "text"


class Tracked(Protocol):
    """What a referral and a transfer share: a case, a status, and when it last changed."""

    id: str
    case_id: str
    status: str
    status_reason: str | None
    updated_at: datetime


@runtime_checkable
class Timed(Protocol):
    """An object whose row keeps the time of some of its moves (a referral's acknowledgement,
    acceptance and completion, for reports): told of each status it reaches and when."""

    def reached(self, status: str, at: datetime) -> None: ...


class Recorded(NamedTuple):
    """A line `record_event` wrote (its row: `db.get(LifecycleEvent, id)`)."""

    id: str
    at: datetime


def record_event(
    *,
    db: Session,
    key: bytes | None,
    object_type: str,
    object_id: str,
    actor: str,
    organization_id: str | None,
    from_status: str | None,
    to_status: str,
    reason_code: str | None = None,
    text: str | None = None,
) -> Recorded:
    """One line of the object's history (`key` None: the text is not kept)."""
    event = Recorded(new_id(), utcnow())
    sealed = None
    if text and key is not None:
        sealed = encrypt(key, text.encode("utf-8"), table=EVENTS, row=event.id, field=TEXT_FIELD)
    # a plain INSERT, not the unit of work (nothing refers to the row, nothing changes it),
    # and no ORM object made only to be returned
    db.connection().execute(
        insert_into(LifecycleEvent.__table__),
        {
            "id": event.id,
            "object_type": object_type,
            "object_id": object_id,
            "at": event.at,
            "actor": actor,
            "organization_id": organization_id,
            "from_status": from_status,
            "to_status": to_status,
            "reason_code": reason_code,
            "text_ciphertext": sealed,
        },
    )
    return event


def apply(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    table: dict[str, Move],
    object_type: str,
    tracked: Tracked,
    action: str,
    party: Party,
    actor: str,
    organization_id: str | None,
    reason_code: str | None = None,
    text: str | None = None,
    coded: str | None = None,
) -> Move:
    """Make `action` if `table` allows it to `party` from the current status.

    409 `invalid_transition` otherwise (the other party's move, or an illegal one); 422
    `reason_required` when the move needs a reason and none was given. The parties explain
    themselves in words (`text`), or with a code from a policy vocabulary (`coded`: a
    referral's decline reason or outcome, checked by the domain, kept in the audit entry); the
    hub's and reviewers' moves give a code (`reason_code`).
    """
    given = (text or coded) if party in (Party.sender, Party.recipient) else reason_code
    rule = tables.check(table, action, status=tracked.status, party=party, reason=given)
    from_status = tracked.status
    tracked.status = rule.target
    tracked.status_reason = reason_code
    tracked.updated_at = utcnow()
    key = live_key(db=db, keyring=keyring, case_id=tracked.case_id) if text else None
    event = record_event(
        db=db,
        key=key,
        object_type=object_type,
        object_id=tracked.id,
        actor=actor,
        organization_id=organization_id,
        from_status=from_status,
        to_status=rule.target,
        reason_code=reason_code,
        text=text,
    )
    if isinstance(tracked, Timed):
        tracked.reached(rule.target, event.at)
    audit(
        db,
        actor=actor,
        action=f"{object_type}.{action}",
        object_type=object_type,
        object_id=tracked.id,
        details={
            "case_id": tracked.case_id,
            "organization_id": organization_id,
            "from_status": from_status,
            "to_status": rule.target,
            "reason_code": reason_code,
            **({"answer_code": coded} if coded else {}),
        },
    )
    if from_status in tables.UNDER_REVIEW and rule.target != tables.PENDING_REVIEW:
        # a review's own decision has already decided it, so only another route finds one
        # pending here (the review kinds are the object types: referral, transfer)
        close_pending(
            db=db,
            kind=object_type,
            object_id=tracked.id,
            actor=actor,
            move=action,
            reason_code=reason_code,
        )
    return rule


def has_text_from(*, db: Session, object_type: str, object_id: str, organization_id: str) -> bool:
    """True when an event of the object holds free text written for `organization_id`."""
    found = db.scalar(
        select(LifecycleEvent.id)
        .where(
            LifecycleEvent.object_type == object_type,
            LifecycleEvent.object_id == object_id,
            LifecycleEvent.organization_id == organization_id,
            LifecycleEvent.text_ciphertext.is_not(None),
        )
        .limit(1)
    )
    return found is not None


def history(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    object_type: str,
    tracked: Tracked,
    viewer: str | None = None,
    text_withheld_from: str | None = None,
) -> list[EventRead]:
    """The object's events, oldest first (resolve it for the caller first), as the
    organisation `viewer` sees them: the other party's actors by organisation only.

    The free text of the events recorded for organisation `text_withheld_from` is left out:
    the domain withholds the case owner's words from a recipient the consent gate does not
    permit now (`hub.referrals.reading.events`, `hub.transfers.reading.events`)."""
    rows = db.scalars(
        select(LifecycleEvent)
        .where(LifecycleEvent.object_type == object_type, LifecycleEvent.object_id == tracked.id)
        .order_by(LifecycleEvent.at, LifecycleEvent.id)
    ).all()
    key = None
    if any(row.text_ciphertext is not None for row in rows):
        key = live_key(db=db, keyring=keyring, case_id=tracked.case_id)
    out = []
    for row in rows:
        text = None
        withheld = text_withheld_from is not None and row.organization_id == text_withheld_from
        if key is not None and row.text_ciphertext is not None and not withheld:
            text = decrypt(
                key, row.text_ciphertext, table=EVENTS, row=row.id, field=TEXT_FIELD
            ).decode("utf-8")
        out.append(
            EventRead(
                at=row.at,
                actor=actor_seen_by(
                    row.actor, organization_id=row.organization_id, viewer=viewer, db=db
                ),
                organization_id=row.organization_id,
                from_status=row.from_status,
                to_status=row.to_status,
                reason_code=row.reason_code,
                text=text,
            )
        )
    return out


def account_words(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    items: list[EventRead],
    sender: str,
    actor: str,
    case_id: str,
    recipient_organization_id: str,
    consent_ids: list[str],
    decision_id: str | None,
    referral_id: str | None = None,
    transfer_id: str | None = None,
    legal_basis: str = "consent",
) -> Disclosure | None:
    """Record the disclosure of the sender's free text a history releases to the recipient
    (nothing when it holds none): the same for a referral's events and a transfer's."""
    words = [item.text for item in items if item.organization_id == sender and item.text]
    if not words:
        return None
    return disclosures.record(
        db=db,
        actor=actor,
        case_id=case_id,
        recipient_organization_id=recipient_organization_id,
        categories=[],
        consent_ids=consent_ids,
        decision_id=decision_id,
        channel=disclosures.CHANNEL_INBOX,
        payload_sha256=disclosures.payload_sha256({"events": words}),
        referral_id=referral_id,
        transfer_id=transfer_id,
        keyring=keyring,
        legal_basis=legal_basis,
    )
