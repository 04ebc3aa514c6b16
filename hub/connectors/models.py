"""Delivery channels: how each organisation receives referrals and transfer offers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base


class DeliveryChannel(Base):
    """An organisation's channel, set by an administrator; none means `inbox`."""

    __tablename__ = "delivery_channels"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # inbox | webhook | fhir
    url: Mapped[str | None] = mapped_column(Text)
    # webhook: HMAC key (else the hub signs with its JWS key); fhir: bearer token. Sealed.
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    # the recipient's public key (a JWK): webhook bodies are then encrypted to it (JWE)
    encryption_jwk: Mapped[dict[str, Any] | None]
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
