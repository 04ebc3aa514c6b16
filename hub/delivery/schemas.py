"""Response shapes for deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class DeliveryStatus(StrEnum):
    pending = "pending"  # queued or being retried
    delivered = "delivered"
    dead = "dead"  # out of attempts, or refused for good: redeliver after fixing the cause
    stopped = "stopped"  # not sent: the consent gate or the referral's status stopped it


class DeliveryRead(BaseModel):
    id: str
    referral_id: str | None  # one of the two
    transfer_id: str | None
    sender_organization_id: str
    recipient_organization_id: str
    channel: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    dead_at: datetime | None
    remote_ref: str | None
    remote_status: str | None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next: str | None
