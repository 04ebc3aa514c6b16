"""The webhook connector: a signed JSON POST of the referral, optionally encrypted.

The body (docs/connectors.md) holds the referral, and of the case only the categories the
consent gate permits now; it is byte-identical across attempts of one delivery, so a partner
can also deduplicate on its hash. The headers carry the delivery id (stable), the attempt and
a timestamp; the signature covers the body as sent (the JWE when encrypted).
"""

from __future__ import annotations

from typing import Any

from hub.audit import published
from hub.clock import utcnow
from hub.connectors import signing
from hub.connectors.channels import Channel
from hub.connectors.contract import PushContext, PushResult
from hub.connectors.package import DeliveryPackage, OfferPackage, OrganizationRef
from hub.crypto.canonical import canonical

EVENT = "referral.sent"
OFFER_EVENT = "transfer.offered"
DELIVERY_ID_HEADER = "Hub-Delivery-Id"
ATTEMPT_HEADER = "Hub-Delivery-Attempt"
TIMESTAMP_HEADER = "Hub-Timestamp"
HMAC_HEADER = "Hub-Signature"
JWS_HEADER = "Hub-Signature-JWS"
AUDIT_CHECKPOINT_HEADER = published.HEADER


def _org(ref: OrganizationRef) -> dict[str, str]:
    return {"id": ref.id, "name": ref.name, "kind": ref.kind}


def body(package: DeliveryPackage, public_url: str) -> dict[str, Any]:
    base = public_url.rstrip("/")
    subject = None
    if package.subject is not None:
        subject = {"birth_date": package.subject.birth_date, "sex": package.subject.sex}
    return {
        "event": EVENT,
        "delivery_id": package.delivery_id,
        "referral": {
            "id": package.referral_id,
            "case_id": package.case_id,
            "from_organization": _org(package.sender),
            "to_organization": _org(package.recipient),
            "service_type": package.service_type,
            "purpose": package.purpose,
            "urgency": package.urgency,
            "status": package.status,
            "sent_at": package.sent_at.isoformat(),
            "acknowledge_by": package.acknowledge_by.isoformat()
            if package.acknowledge_by
            else None,
            "categories": list(package.categories),
            "consent_ids": list(package.consent_ids),
            # data life: erase what this delivery carries by then, and confirm it (links)
            "erase_by": package.erase_by.isoformat() if package.erase_by else None,
        },
        "subject": subject,
        "payload": package.payload,
        "note": package.note,
        "links": {
            "referral": f"{base}/v1/referrals/{package.referral_id}",
            "acknowledge": f"{base}/v1/referrals/{package.referral_id}/acknowledge",
            "erasure_confirmation": (
                f"{base}/v1/referrals/{package.referral_id}/erasure-confirmation"
            ),
        },
    }


def offer_body(package: OfferPackage, public_url: str) -> dict[str, Any]:
    base = public_url.rstrip("/")
    return {
        "event": OFFER_EVENT,
        "delivery_id": package.delivery_id,
        "transfer": {
            "id": package.transfer_id,
            "from_organization": _org(package.sender),
            "to_organization": _org(package.recipient),
            "within_hierarchy": package.within_hierarchy,
            "status": package.status,
            "offered_at": package.offered_at.isoformat(),
        },
        "case": package.case,
        "plan": package.plan,
        "links": {
            "transfer": f"{base}/v1/transfers/{package.transfer_id}",
            "accept": f"{base}/v1/transfers/{package.transfer_id}/accept",
        },
    }


def post(
    shaped: dict[str, Any],
    channel: Channel,
    context: PushContext,
    *,
    delivery_id: str,
    attempt: int | None,
) -> PushResult:
    """POST one JSON document to the webhook: encrypted if the partner registered a key,
    signed (JWS, or HMAC with its secret), with the delivery headers."""
    if channel.url is None:
        raise ValueError("a webhook channel has a url")
    content = canonical(shaped)
    content_type = "application/json"
    if channel.encryption_jwk is not None:
        content = signing.encrypt(
            content, jwk=channel.encryption_jwk, delivery_id=delivery_id
        ).encode()
        content_type = "application/jose"
    timestamp = int(utcnow().timestamp())
    headers = {
        "Content-Type": content_type,
        DELIVERY_ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        # the same key for every attempt: partners that honour it drop the duplicates
        "Idempotency-Key": delivery_id,
    }
    if attempt is not None:
        headers[ATTEMPT_HEADER] = str(attempt)
    if context.audit_checkpoint is not None:
        # a copy of the hub's latest signed audit checkpoint, for the partner to keep
        headers[AUDIT_CHECKPOINT_HEADER] = context.audit_checkpoint
    if channel.secret is not None:
        headers[HMAC_HEADER] = signing.hmac_signature(
            content, secret=channel.secret, delivery_id=delivery_id, timestamp=timestamp
        )
    else:
        headers[JWS_HEADER] = signing.sign_jws(
            content,
            key=context.signing_key,
            kid=context.signing_kid,
            delivery_id=delivery_id,
            timestamp=timestamp,
        )
    response = context.client.request("POST", channel.url, headers=headers, content=content)
    return PushResult(status=response.status)


def push(
    package: DeliveryPackage | OfferPackage, channel: Channel, context: PushContext
) -> PushResult:
    shaped = (
        offer_body(package, context.public_url)
        if isinstance(package, OfferPackage)
        else body(package, context.public_url)
    )
    return post(shaped, channel, context, delivery_id=package.delivery_id, attempt=package.attempt)
