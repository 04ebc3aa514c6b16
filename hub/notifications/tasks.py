"""Outbox handlers of the notifications: the people told (`people.notify`), then their emails
(`people.email`, one message each, so one refused address does not hold back the others)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hub.clock import utcnow
from hub.notifications import mail, service
from hub.outbox.service import RetryableError, handler
from hub.users.models import User

if TYPE_CHECKING:
    from hub.services import Services


def notify(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
    service.deliver(db, payload, email=mail.configured(runtime.settings))


def email(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
    notification = service.get(db=db, notification_id=str(payload["notification_id"]))
    if notification is None or notification.emailed_at is not None:
        return  # the person is gone (cascade), or it went already
    user = db.get(User, notification.user_id)
    if user is None or user.disabled_at is not None or not mail.configured(runtime.settings):
        return
    message = mail.compose(
        runtime.settings, to=user.email, code=notification.code, language=user.language
    )
    try:
        mail.send(runtime.settings, message)
    except mail.MailFailed as exc:
        raise RetryableError(f"mail: {exc}") from None
    notification.emailed_at = utcnow()


def install() -> None:
    handler(service.NOTIFY_TOPIC)(notify)
    handler(service.EMAIL_TOPIC)(email)
