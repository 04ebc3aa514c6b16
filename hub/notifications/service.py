"""Notifications to people, as the policy's `follow_up.notify` says.

A deadline's step (`announce`, in the transaction that flags the referral or transfer) queues
one outbox message naming the request, the step and the audiences; its handler (`deliver`)
finds the people (`hub.users.roles.AUDIENCE_ROLES`: the sender's or the recipient's people of a
role, or the person who made the request), writes one notification each and, when the hub has a
mail server, queues one email each (`hub.notifications.mail`). The outbox runs each message's
handler once to completion, so a person is told once per step.

A notification holds ids and codes only; the console reads them back for the person they are
for, and only for them (`get_page`, `unread_count`, `mark_read` take the person's id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub.clock import utcnow
from hub.notifications.models import Notification
from hub.outbox.service import enqueue
from hub.policy.rules import Audience
from hub.users.models import User
from hub.users.roles import AUDIENCE_ROLES

NOTIFY_TOPIC = "people.notify"
EMAIL_TOPIC = "people.email"

OBJECT_TYPES = ("referral", "transfer", "transfer_request", "person_notice", "review", "case")
# `held`: a request on a legal basis is waiting for the consent officers (`hub.reviews`);
# `erased`: a case erased (`case.erased`, the stage its reason: the holders of its data without
# a system of their own are told so, `hub.delivery.erasure_notices`)
STEPS = ("held", "reminder", "overdue", "escalation", "erased")
# how many a page lists, and how many the home page shows
PAGE_SIZE = 50


@dataclass(frozen=True)
class Parties:
    """Who a request is between: the organisations, and the person who made it (if a person
    did: None when a partner's system made it without naming one)."""

    sender_organization_id: str
    recipient_organization_id: str
    made_by: str | None


def announce(
    db: Session,
    *,
    audiences: Sequence[Audience],
    object_type: str,
    object_id: str,
    step: str,
    stage: str | None,
    parties: Parties,
) -> None:
    """Queue the notifications of one step to the people of `audiences` (nothing without)."""
    if not audiences:
        return
    if object_type not in OBJECT_TYPES or step not in STEPS:
        raise ValueError(f"unknown notification {object_type}.{step}")
    payload: dict[str, object] = {
        "object_type": object_type,
        "object_id": object_id,
        "step": step,
        "audiences": [audience.value for audience in audiences],
        "sender_organization_id": parties.sender_organization_id,
        "recipient_organization_id": parties.recipient_organization_id,
    }
    if stage is not None:
        payload["stage"] = stage
    if parties.made_by is not None:
        payload["made_by"] = parties.made_by
    enqueue(db=db, topic=NOTIFY_TOPIC, payload=payload)


def people(db: Session, audiences: Sequence[str], parties: Parties) -> list[User]:
    """The enabled people the audiences name, each once, in a stable order."""
    organizations = {
        "sender": parties.sender_organization_id,
        "recipient": parties.recipient_organization_id,
    }
    found: dict[str, User] = {}
    for name in audiences:
        side, role = AUDIENCE_ROLES[Audience(name)]
        organization_id = organizations[side]
        query = select(User).where(
            User.organization_id == organization_id, User.disabled_at.is_(None)
        )
        if role is None:
            if parties.made_by is None:
                continue
            query = query.where(User.id == parties.made_by)
        else:
            query = query.where(User.role == role.value)
        for user in db.scalars(query.order_by(User.created_at, User.id)):
            found.setdefault(user.id, user)
    return list(found.values())


def deliver(db: Session, payload: dict[str, object], *, email: bool) -> list[Notification]:
    """The handler's work: one notification per person named, and their emails queued."""
    parties = Parties(
        sender_organization_id=str(payload["sender_organization_id"]),
        recipient_organization_id=str(payload["recipient_organization_id"]),
        made_by=str(payload["made_by"]) if payload.get("made_by") else None,
    )
    audiences = [str(a) for a in payload["audiences"]]  # type: ignore[attr-defined]
    object_type, step = str(payload["object_type"]), str(payload["step"])
    stage = payload.get("stage")
    now = utcnow()
    made = []
    for user in people(db, audiences, parties):
        notification = Notification(
            user_id=user.id,
            organization_id=user.organization_id,
            code=f"{object_type}.{step}",
            stage=str(stage) if stage is not None else None,
            object_type=object_type,
            object_id=str(payload["object_id"]),
            created_at=now,
        )
        db.add(notification)
        made.append(notification)
    # flushed for the ids the emails name
    db.flush()
    if email:
        for notification in made:
            enqueue(db=db, topic=EMAIL_TOPIC, payload={"notification_id": notification.id})
    return made


def get_page(
    db: Session, *, user_id: str, unread_only: bool = False, limit: int = PAGE_SIZE
) -> list[Notification]:
    """The person's notifications, unread first, then newest first."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    order = (Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id)
    return list(db.scalars(query.order_by(*order).limit(limit)))


def unread_count(db: Session, *, user_id: str) -> int:
    query = select(func.count()).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return int(db.scalar(query) or 0)


def mark_read(
    db: Session,
    *,
    user_id: str,
    notification_ids: Sequence[str] | None,
    now: datetime | None = None,
) -> int:
    """Mark the person's notifications read (all of them when `notification_ids` is None);
    another person's ids are ignored. Returns how many changed."""
    statement = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if notification_ids is not None:
        statement = statement.where(Notification.id.in_(list(notification_ids)))
    result = db.execute(statement.values(read_at=now or utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def get(db: Session, *, notification_id: str) -> Notification | None:
    return db.get(Notification, notification_id)
