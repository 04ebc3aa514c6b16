"""Notices pushed to an organisation's webhook: what happened to a referral, in ids and codes.

A consent withdrawn under a referral the recipient already had (`referral.consent_withdrawn`),
an acknowledgement deadline coming (`referral.reminder`, to the recipient), passed
(`referral.overdue`, to the sender) or given up on (`referral.failed`, to both parties); past
the acknowledgement, the deadline of the move owed next (answer, start, follow-up) coming
(`referral.follow_up_reminder`, to the recipient), passed (`referral.follow_up_overdue`, to the
sender) or escalated (`referral.escalated`, to both parties); the date by which the recipient
must have erased what it received coming (`referral.erase_reminder`, to the recipient) or passed
without its confirmation (`referral.erase_overdue`, to the sender), with that date. A notice
carries no personal data; an organisation on `inbox` finds the same in the referral's status
and history. One on `fhir` finds it on the Task its server holds for a withdrawal
(`hub.delivery.fhir_updates`: `businessStatus` `consent_withdrawn` and a note) and on the
facade's Task; the others as an inbox organisation does.

The outbox handler pushes before it writes anything (no lock is held while the partner
answers); a failed push raises the outbox's errors, so the notice is retried with back-off and
its effects are written only once it has been delivered. Its delivery id is derived from what
it is about, so a partner that receives it twice can drop the copy.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.audit import published
from hub.connectors import channels, webhook
from hub.connectors.contract import PushContext
from hub.connectors.http import DeliveryFailed, OutboundClient
from hub.connectors.schemas import ChannelKind
from hub.db.session import transaction
from hub.delivery import service
from hub.lifecycle import Party
from hub.referrals.models import Referral

if TYPE_CHECKING:
    from hub.auth.keys import SigningServices

NAMESPACE = uuid.UUID("3f0d6f0e-5c2b-4d1e-9a57-0b8e2c4f6a11")


def notice_id(*parts: str) -> str:
    """A stable id for the notice about `parts` (the same notice always has the same id)."""
    return uuid.uuid5(NAMESPACE, ":".join(parts)).hex


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def referral_notice(event: str, referral: Referral, public_url: str) -> dict[str, Any]:
    return {
        "event": event,
        "referral": {
            "id": referral.id,
            "from_organization_id": referral.from_organization_id,
            "to_organization_id": referral.to_organization_id,
            "status": referral.status,
            "status_reason": referral.status_reason,
            "acknowledge_by": _time(referral.acknowledge_by),
            # past the acknowledgement: the move owed next and by when
            "due_move": referral.due_move,
            "due_at": _time(referral.due_at),
            "escalated": referral.due_escalated_at is not None,
        },
        "links": {"referral": f"{public_url.rstrip('/')}/v1/referrals/{referral.id}"},
    }


def push_about_referral(
    runtime: SigningServices, *, referral_id: str, event: str, to: Party, key: str
) -> bool:
    """Push `event` about the referral to its sender or recipient (`to`), if on a webhook.
    `key` tells this notice from others of the same event (a consent series, say)."""
    with transaction(runtime.sessions) as db:
        referral = db.get(Referral, referral_id)
        if referral is None:
            return False
        shaped = referral_notice(event, referral, runtime.settings.public_url)
        organization_id = (
            referral.from_organization_id if to is Party.sender else referral.to_organization_id
        )
    return push(
        runtime,
        organization_id=organization_id,
        delivery_id=notice_id(event, referral_id, key),
        shaped=shaped,
    )


def push_data_life(
    runtime: SigningServices, *, referral_id: str, event: str, to: Party, erase_by: str
) -> bool:
    """Push a data-life notice (`event`) about the referral, with its erase-by date."""
    with transaction(runtime.sessions) as db:
        referral = db.get(Referral, referral_id)
        if referral is None:
            return False
        shaped = referral_notice(event, referral, runtime.settings.public_url)
        base = runtime.settings.public_url.rstrip("/")
        shaped["data_life"] = {"erase_by": erase_by}
        shaped["links"]["erasure_confirmation"] = (
            f"{base}/v1/referrals/{referral_id}/erasure-confirmation"
        )
        organization_id = (
            referral.from_organization_id if to is Party.sender else referral.to_organization_id
        )
    return push(
        runtime,
        organization_id=organization_id,
        delivery_id=notice_id(event, referral_id, erase_by),
        shaped=shaped,
    )


def push(
    runtime: SigningServices, *, organization_id: str, delivery_id: str, shaped: dict[str, Any]
) -> bool:
    """Push the notice if the organisation is on a webhook; False when it is not."""
    with transaction(runtime.sessions) as db:
        channel = channels.open_channel(
            db=db, keyring=runtime.keyring, organization_id=organization_id
        )
        if channel.kind is not ChannelKind.webhook:
            return False
        kid, key = runtime.signing_keys.signing_key(db=db)
        audit_checkpoint = published.header_for(db=db)
    with OutboundClient.from_settings(runtime.settings) as client:
        context = PushContext(
            client=client,
            signing_kid=kid,
            signing_key=key,
            public_url=runtime.settings.public_url,
            audit_checkpoint=audit_checkpoint,
        )
        try:
            webhook.post(
                {**shaped, "delivery_id": delivery_id},
                channel,
                context,
                delivery_id=delivery_id,
                attempt=None,  # the outbox counts a notice's attempts, not the handler
            )
        except DeliveryFailed as exc:
            raise service.outbox_error(exc) from None
    return True
