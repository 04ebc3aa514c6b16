"""Deliveries: one per sent referral, queued on the outbox, dead-lettered and redelivered.

`start` is called when a referral is sent (in that transaction: `hub.referrals.sending` calls
it through `on_sent`, registered below); the outbox runs
`hub.delivery.push.deliver` with the delivery id, retrying with back-off. When the outbox
gives up (`on_dead`), the delivery is dead and the referral `failed` (`undeliverable`); its
sender or an administrator can `redeliver` once the channel is mended, under the same delivery
id, so a partner that did receive an earlier attempt drops the copy.

A case transfer offered to an organisation is delivered the same way (`start_transfer`,
topic `transfer.deliver`); a dead offer leaves the transfer open (the recipient can still read
it through the API) and can be redelivered while the transfer is still `sent`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from hub.api import pagination
from hub.api.problems import Conflict, NotFound
from hub.audit.service import record as audit
from hub.clock import utcnow
from hub.connectors import channels
from hub.connectors.http import DeliveryFailed
from hub.db.base import new_id
from hub.db.inserts import insert_into
from hub.delivery.models import Delivery
from hub.delivery.schemas import DeliveryRead, DeliveryStatus
from hub.lifecycle import Party, reasons
from hub.outbox.service import PermanentError, RetryableError, enqueue
from hub.policy.loader import Policy
from hub.referrals import sending as referral_sending
from hub.referrals import service as referrals
from hub.referrals.lifecycle import DELIVERED, FAILED, SENT
from hub.referrals.models import Referral
from hub.transfers import lifecycle as transfer_lifecycle
from hub.transfers import sending as transfer_sending
from hub.transfers.models import Transfer

if TYPE_CHECKING:
    from hub.crypto.keyring import KeyEncryptionKeys
    from hub.services import Services

DELIVER_TOPIC = "referral.deliver"
TRANSFER_TOPIC = "transfer.deliver"
OBJECT_TYPE = "delivery"


def channel_kind(db: Session, organization_id: str) -> str:
    return channels.kind_of(db, organization_id)


def _start(
    db: Session,
    topic: str,
    *,
    sender: str,
    recipient: str,
    referral_id: str | None = None,
    transfer_id: str | None = None,
) -> str:
    """The new delivery's id. A plain INSERT, not the unit of work, and no ORM object made
    only to be thrown away (the referral or transfer it refers to is written already):
    `db.get` reads the row."""
    delivery_id = new_id()
    db.connection().execute(
        insert_into(Delivery.__table__),
        {
            "id": delivery_id,
            "referral_id": referral_id,
            "transfer_id": transfer_id,
            "sender_organization_id": sender,
            "recipient_organization_id": recipient,
            "channel": channel_kind(db, recipient),
            "status": DeliveryStatus.pending.value,
            "attempts": 0,
            "created_at": utcnow(),
        },
    )
    enqueue(db=db, topic=topic, payload={"delivery_id": delivery_id})
    return delivery_id


def start(*, db: Session, referral: Referral) -> str:
    """A delivery of the referral, queued in the caller's transaction (its id)."""
    return _start(
        db,
        DELIVER_TOPIC,
        sender=referral.from_organization_id,
        recipient=referral.to_organization_id,
        referral_id=referral.id,
    )


def start_transfer(*, db: Session, transfer: Transfer) -> str:
    """A delivery of the transfer offer, queued in the caller's transaction (its id)."""
    return _start(
        db,
        TRANSFER_TOPIC,
        sender=transfer.from_organization_id,
        recipient=transfer.to_organization_id,
        transfer_id=transfer.id,
    )


def _referral_sent(db: Session, referral: Referral) -> None:
    start(db=db, referral=referral)


def _transfer_offered(db: Session, transfer: Transfer) -> None:
    start_transfer(db=db, transfer=transfer)


def install() -> None:
    """The requests start their deliveries through these hooks, so they never import the
    workflow (`hub.wiring` installs them as the hub starts)."""
    referral_sending.on_sent(_referral_sent)
    transfer_sending.on_sent(_transfer_offered)


def topic_of(delivery: Delivery) -> str:
    return TRANSFER_TOPIC if delivery.transfer_id is not None else DELIVER_TOPIC


def outbox_error(exc: DeliveryFailed) -> RetryableError | PermanentError:
    """What the outbox makes of a send that failed: tried again later (when the partner may
    answer then), or dead at once."""
    if exc.retryable:
        return RetryableError(exc.code, retry_after=exc.retry_after)
    return PermanentError(exc.code)


def locked(db: Session, delivery_id: str) -> Delivery | None:
    return db.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update())


def on_dead(db: Session, runtime: Services, payload: dict[str, Any], error: str) -> None:
    """The outbox gave up on a delivery: dead, and its referral failed as undeliverable."""
    delivery = locked(db, str(payload.get("delivery_id")))
    if delivery is None or delivery.status != DeliveryStatus.pending:
        return
    now = utcnow()
    delivery.status = DeliveryStatus.dead.value
    delivery.dead_at = now
    # the outbox's summary: a code or an exception type, never a partner's answer
    delivery.last_error = error[:200]
    referral = None
    if delivery.referral_id is not None:
        referral = db.scalar(
            select(Referral).where(Referral.id == delivery.referral_id).with_for_update()
        )
    if referral is not None and referral.status in (SENT, DELIVERED):
        referrals.move(
            db=db,
            keyring=runtime.keyring,
            referral=referral,
            action="fail",
            party=Party.system,
            actor=reasons.SYSTEM_ACTOR,
            organization_id=None,
            reason_code=reasons.UNDELIVERABLE,
        )
    audit(
        db,
        actor=reasons.SYSTEM_ACTOR,
        action="delivery.dead",
        object_type=OBJECT_TYPE,
        object_id=delivery.id,
        details={
            "referral_id": delivery.referral_id,
            "transfer_id": delivery.transfer_id,
            "channel": delivery.channel,
            "attempts": delivery.attempts,
            "error": delivery.last_error,
        },
    )


def redeliver(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    delivery: Delivery,
    actor: str,
    organization_id: str | None,
) -> Delivery:
    """Queue a dead delivery again, under its own id. Resolve it for the caller first
    (`latest` for its sender, `get_any` for administrators): that is the access check.

    409 `not_dead` unless it is dead; 409 `invalid_transition` when its referral was closed
    otherwise meanwhile (cancelled, say). The consent gate is asked again at the send.
    """
    if delivery.status != DeliveryStatus.dead:
        raise Conflict(
            "not_dead", "Only a dead delivery can be redelivered", current_status=delivery.status
        )
    if delivery.transfer_id is not None:
        _check_offer_open(db, delivery.transfer_id)
    else:
        _reopen_referral(db, keyring, policy, delivery, actor, organization_id)
    delivery.status = DeliveryStatus.pending.value
    delivery.dead_at = None
    delivery.last_error = None
    enqueue(db=db, topic=topic_of(delivery), payload={"delivery_id": delivery.id})
    audit(
        db,
        actor=actor,
        action="delivery.redeliver",
        object_type=OBJECT_TYPE,
        object_id=delivery.id,
        details={
            "referral_id": delivery.referral_id,
            "transfer_id": delivery.transfer_id,
            "organization_id": organization_id,
        },
    )
    return delivery


def _closed(status: str) -> Conflict:
    return Conflict(
        "invalid_transition",
        f"It is {status}: nothing to redeliver",
        current_status=status,
        action="redeliver",
    )


def _check_offer_open(db: Session, transfer_id: str) -> None:
    transfer = db.scalar(select(Transfer).where(Transfer.id == transfer_id).with_for_update())
    if transfer is None:
        raise NotFound("delivery")
    if transfer.status != transfer_lifecycle.SENT:
        raise _closed(transfer.status)


def _reopen_referral(
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    delivery: Delivery,
    actor: str,
    organization_id: str | None,
) -> None:
    referral = db.scalar(
        select(Referral).where(Referral.id == delivery.referral_id).with_for_update()
    )
    if referral is None:
        raise NotFound("delivery")
    if referral.status == FAILED and referral.status_reason == reasons.UNDELIVERABLE:
        referrals.move(
            db=db,
            keyring=keyring,
            referral=referral,
            action="redeliver",
            party=Party.system,
            actor=actor,
            organization_id=organization_id,
        )
        now = utcnow()
        # a new chance to acknowledge: the recipient never had the referral
        referral.acknowledge_by = now + policy.acknowledgement.window(referral.urgency).deadline
    elif referral.status != SENT:
        raise _closed(referral.status)


def _of(referral: Referral | None, transfer: Transfer | None) -> ColumnElement[bool]:
    if referral is not None:
        return Delivery.referral_id == referral.id
    if transfer is not None:
        return Delivery.transfer_id == transfer.id
    raise ValueError("a referral or a transfer")


def latest(
    *, db: Session, referral: Referral | None = None, transfer: Transfer | None = None
) -> Delivery:
    """The latest delivery of the referral or the transfer (404 when none: never sent)."""
    delivery = db.scalar(
        select(Delivery)
        .where(_of(referral, transfer))
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(1)
        .with_for_update()
    )
    if delivery is None:
        raise NotFound("delivery")
    return delivery


def get_any(*, db: Session, delivery_id: str) -> Delivery:
    """Any delivery, for hub administrators."""
    delivery = db.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("delivery")
    return delivery


def read(row: Delivery) -> DeliveryRead:
    return DeliveryRead(
        id=row.id,
        referral_id=row.referral_id,
        transfer_id=row.transfer_id,
        sender_organization_id=row.sender_organization_id,
        recipient_organization_id=row.recipient_organization_id,
        channel=row.channel,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        last_attempt_at=row.last_attempt_at,
        delivered_at=row.delivered_at,
        dead_at=row.dead_at,
        remote_ref=row.remote_ref,
        remote_status=row.remote_status,
        created_at=row.created_at,
    )


def listed(
    *, db: Session, referral: Referral | None = None, transfer: Transfer | None = None
) -> list[DeliveryRead]:
    """The deliveries of the referral or the transfer, oldest first. Resolve it for the
    caller first: that is the access check."""
    rows = db.scalars(
        select(Delivery).where(_of(referral, transfer)).order_by(Delivery.created_at, Delivery.id)
    )
    return [read(row) for row in rows]


def get_page(
    *,
    db: Session,
    status: DeliveryStatus | None,
    organization_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[DeliveryRead], str | None]:
    """Deliveries newest first, for administrators (`organization_id` None: every sender's)."""
    query = select(Delivery)
    if status is not None:
        query = query.where(Delivery.status == status.value)
    if organization_id is not None:
        query = query.where(Delivery.sender_organization_id == organization_id)
    rows = list(
        db.scalars(
            pagination.page(
                query,
                time_column=Delivery.created_at,
                id_column=Delivery.id,
                cursor=cursor,
                limit=limit,
            )
        )
    )
    cursor_next = pagination.next_cursor(rows, limit, time_attr="created_at")
    return [read(row) for row in rows[:limit]], cursor_next
