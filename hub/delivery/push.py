"""Running one delivery (the outbox handler of `referral.deliver` and `transfer.deliver`).

Three steps, so that no database lock is held while a partner's server answers:
1. `prepare`, in a transaction of its own: the delivery and its referral are checked (a
   referral no longer `sent` stops it), the recipient's channel is read, and for a push channel
   the consent gate is asked again right now: a withdrawn consent cancels the referral, a
   denial or a new review trigger blocks it, and the package holds only what is permitted.
2. the push, outside any transaction (webhook or FHIR, through the guarded client);
3. `finish`, in the outbox's own transaction: the delivery is delivered, the referral moves to
   `delivered` and the disclosure is accounted for, with the channel. A worker that dies
   between 2 and 3 leaves the message to be run again: the partner receives the same delivery
   id twice (at least once), and the disclosure is written once.
A failed push raises the outbox's RetryableError or PermanentError; the outbox retries with
back-off and, at the end, calls `hub.delivery.service.on_dead`.

A transfer offer goes the same way (`hub.delivery.offers` asks the gate), to a webhook only:
the FHIR mapping is for referrals, so an organisation on `fhir` reads its offers through the API
as on `inbox`. An offer has no `delivered` status of its own; its delivery records it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import published
from hub.cases import service as cases
from hub.cases.models import Case
from hub.clock import utcnow
from hub.connectors import channels, fhir, webhook
from hub.connectors.channels import INBOX, Channel
from hub.connectors.contract import Connector, PushContext, PushResult
from hub.connectors.http import DeliveryFailed, OutboundClient
from hub.connectors.package import (
    ConsentRef,
    DeliveryPackage,
    OfferPackage,
    OrganizationRef,
    Subject,
)
from hub.connectors.schemas import ChannelKind
from hub.consent.models import Consent
from hub.db.session import transaction
from hub.delivery import fhir_updates, offers, service
from hub.delivery.models import Delivery
from hub.delivery.schemas import DeliveryStatus
from hub.disclosures import service as disclosures
from hub.lifecycle import Party, reasons
from hub.organizations.models import Organization
from hub.policy.loader import Policy
from hub.policy.rules import Reason
from hub.referrals import reading
from hub.referrals import service as referrals
from hub.referrals.lifecycle import SENT
from hub.referrals.models import Referral
from hub.referrals.reading import Released
from hub.transfers import lifecycle as transfer_lifecycle
from hub.transfers import service as transfers
from hub.transfers.models import Transfer

if TYPE_CHECKING:
    from hub.auth.keys import SigningServices

log = logging.getLogger("hub.connectors")

CONNECTORS: dict[ChannelKind, Connector] = {
    ChannelKind.webhook: webhook.push,
    ChannelKind.fhir: fhir.push,
}
# why the gate withheld the data, and the code the blocked referral is cancelled with
BLOCK_CODES = {
    "consent_denied": reasons.CONSENT_DENIED,
    "review_required": reasons.REVIEW_REQUIRED,
}


@dataclass(frozen=True)
class Prepared:
    delivery_id: str
    referral_id: str | None  # one of the two
    channel: Channel
    package: DeliveryPackage | OfferPackage | None = None  # None for the inbox
    released: Released | None = None  # a referral's: what the gate released
    offer: offers.Offer | None = None  # a transfer's
    transfer_id: str | None = None
    signing_kid: str = ""
    signing_key: Any = None
    audit_checkpoint: str | None = None


def _org(row: Organization) -> OrganizationRef:
    return OrganizationRef(id=row.id, name=row.name, kind=row.kind)


def _consents(db: Session, ids: tuple[str, ...]) -> tuple[ConsentRef, ...]:
    rows = db.scalars(select(Consent).where(Consent.id.in_(list(ids))).order_by(Consent.id))
    return tuple(
        ConsentRef(
            id=row.id,
            given_by=row.given_by,
            method=row.method,
            purposes=tuple(row.purposes),
            categories=tuple(row.categories),
            recorded_at=row.recorded_at,
        )
        for row in rows
    )


def _package(
    db: Session,
    runtime: SigningServices,
    delivery: Delivery,
    referral: Referral,
    released: Released,
) -> DeliveryPackage:
    payload = dict(released.payload or {})
    subject = None
    if "identity" in payload:
        # birth date and sex are identity data: they go only where identity may
        case = db.get_one(Case, referral.case_id)
        known = cases.read_subject(db=db, keyring=runtime.keyring, case=case)
        # an estimated date goes as written (FHIR's birthDate takes 2010 and 2010-05 too)
        subject = Subject(birth_date=known.birth_date, sex=known.sex)
    if referral.sent_at is None:
        raise ValueError("a referral being delivered has been sent")
    return DeliveryPackage(
        delivery_id=delivery.id,
        attempt=delivery.attempts,
        referral_id=referral.id,
        case_id=referral.case_id,
        sender=_org(db.get_one(Organization, referral.from_organization_id)),
        recipient=_org(db.get_one(Organization, referral.to_organization_id)),
        service_type=referral.service_type,
        purpose=referral.purpose,
        urgency=referral.urgency,
        status=referral.status,
        sent_at=referral.sent_at,
        acknowledge_by=referral.acknowledge_by,
        categories=tuple(sorted(payload)),
        consents=_consents(db, released.consent_ids),
        payload=payload,
        subject=subject,
        note=released.note,
        # counted from the delivery's start, so every attempt carries the same date
        erase_by=released.erase_by_at(db, delivery.created_at),
    )


def _stop(delivery: Delivery, code: str) -> None:
    delivery.status = DeliveryStatus.stopped.value
    delivery.last_error = code


def _block(db: Session, runtime: SigningServices, referral: Referral, withheld: Released) -> str:
    """Act on a gate that no longer permits the push; returns the code to stop with."""
    code = str((withheld.withheld or [{"code": "withheld"}])[0]["code"])
    if code == Reason.consent_withdrawn.value:
        return code  # `reading.evaluate` has already cancelled the referral
    reason = BLOCK_CODES.get(code)
    if reason is not None and referral.status == SENT:
        referrals.move(
            db=db,
            keyring=runtime.keyring,
            referral=referral,
            action="block",
            party=Party.system,
            actor=reasons.SYSTEM_ACTOR,
            organization_id=None,
            reason_code=reason,
        )
    return code


def _prepare_offer(db: Session, runtime: SigningServices, delivery: Delivery) -> Prepared | None:
    transfer = db.scalar(
        select(Transfer).where(Transfer.id == delivery.transfer_id).with_for_update()
    )
    if transfer is None or transfer.status != transfer_lifecycle.SENT:
        _stop(delivery, f"transfer_{transfer.status if transfer else 'gone'}")
        return None
    channel = channels.open_channel(
        db=db, keyring=runtime.keyring, organization_id=transfer.to_organization_id
    )
    if channel.kind is not ChannelKind.webhook:
        channel = Channel(organization_id=channel.organization_id, kind=INBOX)
    delivery.channel = channel.kind.value
    delivery.attempts += 1
    delivery.last_attempt_at = utcnow()
    if channel.kind is INBOX:
        return Prepared(delivery.id, None, channel, transfer_id=transfer.id)
    offer = offers.prepare(db, runtime, delivery, transfer)
    if offer.package is None:
        _stop(delivery, offer.stop_code or "withheld")
        return None
    kid, key = runtime.signing_keys.signing_key(db=db)
    return Prepared(
        delivery.id,
        None,
        channel,
        offer.package,
        offer=offer,
        transfer_id=transfer.id,
        signing_kid=kid,
        signing_key=key,
        audit_checkpoint=published.header_for(db=db),
    )


def prepare(runtime: SigningServices, delivery_id: str) -> Prepared | None:
    """Step 1 (see the module); None when there is nothing to push."""
    with transaction(runtime.sessions) as db:
        delivery = service.locked(db, delivery_id)
        if delivery is None or delivery.status != DeliveryStatus.pending:
            return None
        if delivery.transfer_id is not None:
            return _prepare_offer(db, runtime, delivery)
        referral = db.scalar(
            select(Referral).where(Referral.id == delivery.referral_id).with_for_update()
        )
        if referral is None or referral.status != SENT:
            _stop(delivery, f"referral_{referral.status if referral else 'gone'}")
            return None
        channel = channels.open_channel(
            db=db, keyring=runtime.keyring, organization_id=referral.to_organization_id
        )
        delivery.channel = channel.kind.value
        delivery.attempts += 1
        delivery.last_attempt_at = utcnow()
        if channel.kind is ChannelKind.inbox:
            return Prepared(delivery.id, referral.id, channel)
        released = reading.evaluate(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            referral=referral,
            actor=reasons.SYSTEM_ACTOR,
            context="delivery",
        )
        if released.withheld is not None:
            _stop(delivery, _block(db, runtime, referral, released))
            return None
        kid, key = runtime.signing_keys.signing_key(db=db)
        package = _package(db, runtime, delivery, referral, released)
        return Prepared(
            delivery.id,
            referral.id,
            channel,
            package,
            released,
            signing_kid=kid,
            signing_key=key,
            audit_checkpoint=published.header_for(db=db),
        )


def _note_failure(runtime: SigningServices, delivery_id: str, code: str) -> None:
    with transaction(runtime.sessions) as db:
        delivery = service.locked(db, delivery_id)
        if delivery is not None:
            delivery.last_error = code


def send(runtime: SigningServices, prepared: Prepared, client: OutboundClient) -> PushResult:
    """Step 2: the push itself. Raises the outbox's errors on failure."""
    package = prepared.package
    if package is None:
        raise ValueError("only push channels are sent")
    connector = CONNECTORS[prepared.channel.kind]
    context = PushContext(
        client=client,
        signing_kid=prepared.signing_kid,
        signing_key=prepared.signing_key,
        public_url=runtime.settings.public_url,
        audit_checkpoint=prepared.audit_checkpoint,
    )
    try:
        return connector(package, prepared.channel, context)
    except DeliveryFailed as exc:
        _note_failure(runtime, prepared.delivery_id, exc.code)
        log.warning(
            "delivery attempt failed",
            extra={
                "delivery_id": prepared.delivery_id,
                "channel": prepared.channel.kind.value,
                "code": exc.code,
                "status": exc.status,
                "retryable": exc.retryable,
            },
        )
        raise service.outbox_error(exc) from None


def _delivered(delivery: Delivery, result: PushResult | None) -> None:
    delivery.status = DeliveryStatus.delivered.value
    delivery.delivered_at = utcnow()
    delivery.last_error = None
    if result is not None and result.remote_ref:
        delivery.remote_ref = result.remote_ref


def _finish_offer(db: Session, policy: Policy, prepared: Prepared, delivery: Delivery) -> None:
    _delivered(delivery, None)
    offer, package = prepared.offer, prepared.package
    if offer is None or not isinstance(package, OfferPackage):
        return  # offered through the inbox: read through the API
    transfer = db.get_one(Transfer, prepared.transfer_id)
    channel = prepared.channel.kind.value
    # the plan and the brief left, not the case file: no data category is disclosed yet; on a
    # legal basis, the first disclosure opens the news owed to the person
    transfers.account(
        db=db,
        policy=policy,
        transfer=transfer,
        actor=f"connector:{channel}",
        categories=[],
        consent_ids=offer.consent_ids,
        decision_id=offer.decision_id,
        channel=channel,
        payload_sha256=disclosures.payload_sha256({"case": package.case, "plan": package.plan}),
        legal_basis=offer.legal_basis,
    )


def finish(
    db: Session, runtime: SigningServices, prepared: Prepared, result: PushResult | None
) -> None:
    """Step 3, in the outbox's transaction."""
    delivery = service.locked(db, prepared.delivery_id)
    if delivery is None:
        return
    if prepared.transfer_id is not None:
        _finish_offer(db, runtime.policy, prepared, delivery)
        return
    referral = db.scalar(
        select(Referral).where(Referral.id == prepared.referral_id).with_for_update()
    )
    if referral is None:
        return
    channel = prepared.channel.kind.value
    _delivered(delivery, result)
    if referral.status in referrals.CLOSED_BY_THE_HUB:
        # closed while the push travelled: the partner's new Task is closed in its turn
        fhir_updates.queue(db, referral, delivery)
    if referral.status == SENT:
        referrals.move(
            db=db,
            keyring=runtime.keyring,
            referral=referral,
            action="deliver",
            party=Party.system,
            actor=reasons.SYSTEM_ACTOR,
            organization_id=None,
        )
    if prepared.released is not None:
        # the data left even if the referral was cancelled while it travelled: accounted for
        reading.account(
            db=db,
            referral=referral,
            released=prepared.released,
            actor=f"connector:{channel}",
            channel=channel,
            erase_by=prepared.package.erase_by
            if isinstance(prepared.package, DeliveryPackage)
            else None,
        )


def deliver(db: Session, runtime: SigningServices, payload: dict[str, Any]) -> None:
    prepared = prepare(runtime, str(payload["delivery_id"]))
    if prepared is None:
        return
    result = None
    if prepared.channel.kind is not ChannelKind.inbox:
        with OutboundClient.from_settings(runtime.settings) as client:
            result = send(runtime, prepared, client)
    finish(db, runtime, prepared, result)
