"""Request and response shapes for delivery channels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ChannelKind(StrEnum):
    inbox = "inbox"  # the recipient pulls through the API
    webhook = "webhook"  # a signed JSON POST
    fhir = "fhir"  # a FHIR R4 transaction Bundle; the partner's Task is read back


class ChannelSet(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # the first is shown on the operation; a webhook's host must resolve when it is set
            "examples": [
                {"kind": "inbox"},
                {
                    "kind": "webhook",
                    "url": "https://intake.ngo.example.org/hub/webhook",
                    "secret": "a-shared-secret-of-32-characters",
                },
            ]
        },
    )

    kind: ChannelKind
    url: str | None = Field(None, max_length=2000)
    # webhook: the HMAC-SHA256 key (without one, bodies are signed with the hub's JWS key);
    # fhir: a bearer token for the partner's FHIR server
    secret: SecretStr | None = Field(None, min_length=16, max_length=512)
    # webhook only: the recipient's public key; bodies are then encrypted to it (JWE)
    encryption_jwk: dict[str, Any] | None = None


class ChannelRead(BaseModel):
    organization_id: str
    kind: ChannelKind
    url: str | None
    signing: str | None  # webhook: jws | hmac
    has_secret: bool
    encryption: dict[str, str] | None  # alg, enc and the key's kid when bodies are encrypted
    updated_at: datetime | None
    updated_by: str | None
