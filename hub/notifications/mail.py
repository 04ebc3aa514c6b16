"""Notification emails through the hub's mail server (`HUB_SMTP_*`, the standard library's
smtplib): a subject, a code and a link to the console, in the person's language. Nothing of
the beneficiary, nor the request's id (a mailbox is not the hub): the link leads to the
person's notifications, behind their sign-in.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from hub.settings import Settings

SUBJECTS = {
    "en": "Referral hub: something needs your attention",
    "fr": "Plateforme d'orientation : une demande requiert votre attention",
}
BODIES = {
    "en": "A referral or a case transfer needs your attention ({code}).\n\n"
    "Sign in to read it:\n{link}\n",
    "fr": "Une orientation ou un transfert de dossier requiert votre attention ({code}).\n\n"
    "Connectez-vous pour le lire :\n{link}\n",
}


class MailFailed(Exception):
    """The mail server refused or could not be reached (the reason names no address)."""


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def compose(settings: Settings, *, to: str, code: str, language: str | None) -> EmailMessage:
    chosen = language if language in SUBJECTS else "en"
    link = f"{settings.public_url.rstrip('/')}/console/notifications"
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = SUBJECTS[chosen]
    message.set_content(BODIES[chosen].format(code=code, link=link))
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    if not settings.smtp_host:
        raise MailFailed("no mail server")
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password is not None:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailFailed(type(exc).__name__) from None
