"""Deliveries: one per sent referral, queued on the outbox, dead-lettered and redelivered.

`start` is called when a referral is sent (in that transaction); the outbox runs
`hub.connectors.push.deliver` with the delivery id, retrying with back-off. When the outbox
gives up (`on_dead`), the delivery is dead and the referral `failed` (`undeliverable`); its
sender or an administrator can `redeliver` once the channel is mended, under the same delivery
id, so a partner that did receive an earlier attempt drops the copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api import pagination
from hub.api.problems import Conflict, NotFound
from hub.audit.service import record as audit
from hub.clock import utcnow
from hub.connectors.models import Delivery, DeliveryChannel
from hub.connectors.schemas import ChannelKind, DeliveryRead, DeliveryStatus
from hub.db.base import new_id
from hub.lifecycle import Party
from hub.outbox.service import enqueue
from hub.policy.loader import Policy
from hub.referrals import service as referrals
from hub.referrals.lifecycle import DELIVERED, FAILED, SENT
from hub.referrals.models import Referral

if TYPE_CHECKING:
    from hub.crypto.keyring import KeyEncryptionKeys
    from hub.runtime import Runtime

DELIVER_TOPIC = "referral.deliver"
OBJECT_TYPE = "delivery"


def channel_kind(db: Session, organization_id: str) -> str:
    row = db.get(DeliveryChannel, organization_id)
    return row.kind if row is not None else ChannelKind.inbox.value


def start(*, db: Session, referral: Referral) -> Delivery:
    """A delivery of the referral, queued in the caller's transaction."""
    delivery = Delivery(
        id=new_id(),
        referral_id=referral.id,
        sender_organization_id=referral.from_organization_id,
        recipient_organization_id=referral.to_organization_id,
        channel=channel_kind(db, referral.to_organization_id),
        status=DeliveryStatus.pending.value,
        attempts=0,
        created_at=utcnow(),
    )
    db.add(delivery)
    db.flush()
    enqueue(db=db, topic=DELIVER_TOPIC, payload={"delivery_id": delivery.id})
    return delivery


def locked(db: Session, delivery_id: str) -> Delivery | None:
    return db.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update())


def on_dead(db: Session, runtime: Runtime, payload: dict[str, Any], error: str) -> None:
    """The outbox gave up on a delivery: dead, and its referral failed as undeliverable."""
    delivery = locked(db, str(payload.get("delivery_id")))
    if delivery is None or delivery.status != DeliveryStatus.pending:
        return
    now = utcnow()
    delivery.status = DeliveryStatus.dead.value
    delivery.dead_at = now
    # the outbox's summary: a code or an exception type, never a partner's answer
    delivery.last_error = error[:200]
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
            actor=referrals.SYSTEM_ACTOR,
            organization_id=None,
            reason_code=referrals.UNDELIVERABLE,
        )
    audit(
        db,
        actor=referrals.SYSTEM_ACTOR,
        action="delivery.dead",
        object_type=OBJECT_TYPE,
        object_id=delivery.id,
        details={
            "referral_id": delivery.referral_id,
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
    referral = db.scalar(
        select(Referral).where(Referral.id == delivery.referral_id).with_for_update()
    )
    if referral is None:
        raise NotFound("delivery")
    if referral.status == FAILED and referral.status_reason == referrals.UNDELIVERABLE:
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
        raise Conflict(
            "invalid_transition",
            f"The referral is {referral.status}: nothing to redeliver",
            current_status=referral.status,
            action="redeliver",
        )
    delivery.status = DeliveryStatus.pending.value
    delivery.dead_at = None
    delivery.last_error = None
    enqueue(db=db, topic=DELIVER_TOPIC, payload={"delivery_id": delivery.id})
    audit(
        db,
        actor=actor,
        action="delivery.redeliver",
        object_type=OBJECT_TYPE,
        object_id=delivery.id,
        details={"referral_id": referral.id, "organization_id": organization_id},
    )
    return delivery


def latest(*, db: Session, referral: Referral) -> Delivery:
    """The referral's latest delivery (404 when it has none: never sent)."""
    delivery = db.scalar(
        select(Delivery)
        .where(Delivery.referral_id == referral.id)
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


def of_referral(*, db: Session, referral: Referral) -> list[DeliveryRead]:
    """A referral's deliveries, oldest first. Resolve the referral for the caller first."""
    rows = db.scalars(
        select(Delivery)
        .where(Delivery.referral_id == referral.id)
        .order_by(Delivery.created_at, Delivery.id)
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
