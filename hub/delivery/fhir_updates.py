"""The hub's closing of a referral, written to the partner's FHIR Task it was pushed as.

When the hub, the sender or a consent officer closes a referral (`cancelled` by the sender or
because consent was withdrawn, `failed` when never acknowledged, `denied`), the partner that
holds its Task on a FHIR server learns it there too: its Task goes to `cancelled` (or `failed`)
with `statusReason` coded in `urn:referral-hub:status-reason` (`consent_withdrawn`,
`cancelled_by_sender`, `not_acknowledged`, ...). `hub.referrals.service` calls `closed` in the
move's transaction (the `on_closed` hook `install` registers); it queues one outbox message
per Task the partner holds. A referral cancelled while its push travelled is queued by
`hub.delivery.push.finish` once the Task exists.

The outbox handler (`write`) reads the delivery and the channel in a transaction of its own,
writes to the partner outside any (the guarded client: no redirects, no private addresses
unless allowed, timeouts), then records the result in the outbox's transaction. A failed
write raises the outbox's errors: retried with back-off like any delivery, dead at the end.
A Task the partner had already closed (completed, rejected, ...) is left as it is.

A consent withdrawn under a referral the partner already acknowledged does not close it (the
withdrawal cascade, `hub.referrals.cascade`, cancels only unanswered ones: closing is the
recipient's move). A webhook partner gets a notice (`hub.delivery.notices`); a FHIR partner
gets it on its Task (`withdrawn`, queued by the withdrawal notice's handler, once per
referral and consent series, under `NOTICE_TOPIC`): `businessStatus` coded
`consent_withdrawn` in `urn:referral-hub:status-reason` and a `note` without personal data
(`fhir_task.WITHDRAWAL_NOTE`), its status left as it is (`notify`, through `fhir.notify_task`).
A referral the withdrawal cancelled is not told twice: its Task's cancellation says why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.service import record as audit
from hub.clock import utcnow
from hub.connectors import channels, fhir
from hub.connectors.channels import Channel
from hub.connectors.fhir_task import WITHDRAWAL_NOTE
from hub.connectors.http import DeliveryFailed, OutboundClient
from hub.connectors.schemas import ChannelKind
from hub.db.session import transaction
from hub.delivery import service
from hub.delivery.models import Delivery
from hub.lifecycle import reasons
from hub.outbox.service import PermanentError, enqueue
from hub.referrals import service as referrals
from hub.referrals.deadlines import NOT_ACKNOWLEDGED
from hub.referrals.lifecycle import FHIR_TASK_STATUS
from hub.referrals.models import Referral

if TYPE_CHECKING:
    from hub.services import Services

TOPIC = "referral.fhir_task_update"
NOTICE_TOPIC = "referral.fhir_task_notice"
ACTOR = "connector:fhir"
# the words beside each code in Task.statusReason (the code is what a partner acts on)
REASON_TEXT = {
    reasons.CONSENT_WITHDRAWN: "The beneficiary withdrew consent",
    reasons.CANCELLED_BY_SENDER: "Cancelled by the referring organisation",
    reasons.REVIEW_DENIED: "Refused by a consent officer",
    reasons.CONSENT_DENIED: "Consent no longer permits it",
    reasons.REVIEW_REQUIRED: "Held for a consent officer's review",
    reasons.UNDELIVERABLE: "Undeliverable",
    reasons.CASE_ERASED: "The case was erased",
    NOT_ACKNOWLEDGED: "Not acknowledged in time",
}


def queue(db: Session, referral: Referral, delivery: Delivery) -> None:
    """Queue the write of the referral's closing onto the delivery's Task, in `db`."""
    if delivery.channel != ChannelKind.fhir.value or delivery.remote_ref is None:
        return
    enqueue(
        db=db,
        topic=TOPIC,
        payload={
            "delivery_id": delivery.id,
            "status": FHIR_TASK_STATUS[referral.status],
            "reason_code": referral.status_reason or referral.status,
        },
    )


def closed(db: Session, referral: Referral) -> None:
    """The `on_closed` listener: every Task the partner holds for the referral is told."""
    for delivery in _tasks_held(db, referral.id):
        queue(db, referral, delivery)


def install() -> None:
    referrals.on_closed(closed)


def _tasks_held(db: Session, referral_id: str) -> list[Delivery]:
    return list(
        db.scalars(
            select(Delivery)
            .where(
                Delivery.referral_id == referral_id,
                Delivery.channel == ChannelKind.fhir.value,
                Delivery.remote_ref.is_not(None),
            )
            .order_by(Delivery.created_at, Delivery.id)
        )
    )


def withdrawn(db: Session, referral_id: str) -> None:
    """Queue, in `db`, the consent-withdrawal notice onto every Task a FHIR partner holds for
    the referral, unless the withdrawal cancelled it (that cancellation is written instead)."""
    referral = db.get(Referral, referral_id)
    if referral is None or referral.status_reason == reasons.CONSENT_WITHDRAWN:
        return
    for delivery in _tasks_held(db, referral_id):
        enqueue(
            db=db,
            topic=NOTICE_TOPIC,
            payload={"delivery_id": delivery.id, "code": reasons.CONSENT_WITHDRAWN},
        )


def notify(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
    """The outbox handler of `NOTICE_TOPIC`: the notice written onto the partner's Task."""
    delivery_id, code = str(payload["delivery_id"]), str(payload["code"])
    if code != reasons.CONSENT_WITHDRAWN:
        raise PermanentError("unknown_notice")
    result = _on_partner_task(
        runtime,
        delivery_id,
        lambda channel, remote_ref, client: fhir.notify_task(
            channel, remote_ref, client, code=code, note=WITHDRAWAL_NOTE, at=utcnow()
        ),
    )
    if result is None:
        return
    row = service.locked(db, delivery_id)
    if row is None:
        return
    audit(
        db,
        actor=ACTOR,
        action="delivery.partner_task_noted",
        object_type=service.OBJECT_TYPE,
        object_id=row.id,
        details={"referral_id": row.referral_id, "code": code, "result": result},
    )


def write(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
    """The outbox handler of `TOPIC` (see the module)."""
    delivery_id = str(payload["delivery_id"])
    status, reason_code = str(payload["status"]), str(payload["reason_code"])
    result = _on_partner_task(
        runtime,
        delivery_id,
        lambda channel, remote_ref, client: fhir.update_task(
            channel,
            remote_ref,
            client,
            status=status,
            reason_code=reason_code,
            reason_text=REASON_TEXT.get(reason_code),
            at=utcnow(),
        ),
    )
    if result is None:
        return
    row = service.locked(db, delivery_id)
    if row is None:
        return
    if result != "closed":
        row.remote_status = status
    audit(
        db,
        actor=ACTOR,
        action="delivery.partner_task_updated",
        object_type=service.OBJECT_TYPE,
        object_id=row.id,
        details={
            "referral_id": row.referral_id,
            "status": status,
            "reason_code": reason_code,
            "result": result,
        },
    )


def _on_partner_task(
    runtime: Services,
    delivery_id: str,
    call: Callable[[Channel, str, OutboundClient], str],
) -> str | None:
    """`call` on the partner's Task the delivery made (its channel and reference read in a
    transaction of their own, the partner reached outside any); None when there is no Task
    to write: never made, or the partner has left FHIR since."""
    with transaction(runtime.sessions) as read:
        delivery = read.get(Delivery, delivery_id)
        if delivery is None or delivery.remote_ref is None:
            return None
        remote_ref = delivery.remote_ref
        channel = channels.open_channel(
            db=read, keyring=runtime.keyring, organization_id=delivery.recipient_organization_id
        )
    if channel.kind is not ChannelKind.fhir or channel.url is None:
        return None  # the partner left FHIR: its Tasks are no longer written
    with OutboundClient.from_settings(runtime.settings) as client:
        try:
            return call(channel, remote_ref, client)
        except DeliveryFailed as exc:
            raise service.outbox_error(exc) from None
        except ValueError:
            raise PermanentError("invalid_task") from None
