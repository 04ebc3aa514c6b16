"""The FHIR connector: a transaction Bundle POSTed to the partner's FHIR base, and the
partner's Task read back (`hub.delivery.polling` maps its status onto the referral)."""

from __future__ import annotations

import json
import re

from hub.audit import published
from hub.connectors import fhir_bundle
from hub.connectors.channels import Channel
from hub.connectors.contract import PushContext, PushResult
from hub.connectors.fhir_bundle import TaskState
from hub.connectors.http import OutboundClient
from hub.connectors.package import DeliveryPackage, OfferPackage

FHIR_JSON = "application/fhir+json"
# what the hub puts after the partner's base: `Task/<FHIR id>`, nothing the partner chose
TASK_REF = re.compile(r"^Task/[A-Za-z0-9\-.]{1,64}$")


def _headers(channel: Channel) -> dict[str, str]:
    headers = {"Accept": FHIR_JSON}
    if channel.secret is not None:
        headers["Authorization"] = "Bearer " + channel.secret.decode()
    return headers


def _base(channel: Channel) -> str:
    if channel.url is None:
        raise ValueError("a fhir channel has a url")
    return channel.url.rstrip("/")


def push(
    package: DeliveryPackage | OfferPackage, channel: Channel, context: PushContext
) -> PushResult:
    if isinstance(package, OfferPackage):
        # transfer offers are not mapped to FHIR: `hub.delivery.push` never routes them here
        raise TypeError("the FHIR connector pushes referrals only")
    bundle = fhir_bundle.build_bundle(package, audit_checkpoint=context.audit_checkpoint)
    content = json.dumps(bundle, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        **_headers(channel),
        "Content-Type": FHIR_JSON,
        "Hub-Delivery-Id": package.delivery_id,
    }
    if context.audit_checkpoint is not None:
        # a copy of the hub's latest signed audit checkpoint for the partner to keep, as the
        # webhook sends it (and in the Bundle's meta.tag)
        headers[published.HEADER] = context.audit_checkpoint
    response = context.client.request("POST", _base(channel), headers=headers, content=content)
    remote_ref = None
    try:
        found = fhir_bundle.task_reference_from_response(json.loads(response.body))
    except ValueError:
        found = None
    if found is not None and TASK_REF.match(found):
        remote_ref = found
    return PushResult(status=response.status, remote_ref=remote_ref)


def read_task(channel: Channel, remote_ref: str, client: OutboundClient) -> TaskState:
    """The partner's Task as it stands (raises DeliveryFailed, or ValueError when the answer
    is not a Task)."""
    if not TASK_REF.match(remote_ref):
        raise ValueError("not a Task reference")
    response = client.request("GET", f"{_base(channel)}/{remote_ref}", headers=_headers(channel))
    try:
        document = json.loads(response.body)
    except ValueError:
        raise ValueError("the partner's answer is not JSON") from None
    return fhir_bundle.parse_task(document)
