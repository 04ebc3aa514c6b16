"""What every push connector is given and gives back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from joserfc.jwk import ECKey

from hub.connectors.channels import Channel
from hub.connectors.http import OutboundClient
from hub.connectors.package import DeliveryPackage, OfferPackage


@dataclass(frozen=True)
class PushContext:
    client: OutboundClient
    # the hub's current signing key, read before the push (no database during the request)
    signing_kid: str
    signing_key: ECKey
    public_url: str
    # the latest signed audit checkpoint (`hub.audit.published.header_value`), handed to the
    # partner with the delivery so a copy lives outside the hub; None before the first one
    audit_checkpoint: str | None = None


@dataclass(frozen=True)
class PushResult:
    status: int
    remote_ref: str | None = None  # fhir: the partner's Task, read back on a schedule


class Connector(Protocol):
    def __call__(
        self, package: DeliveryPackage | OfferPackage, channel: Channel, context: PushContext
    ) -> PushResult: ...
