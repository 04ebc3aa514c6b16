"""A referral's or a transfer's history, as either party reads it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class EventRead(BaseModel):
    at: datetime
    actor: str
    organization_id: str | None
    from_status: str | None
    to_status: str
    reason_code: str | None
    # the decline reason, the outcome, the cancellation reason (sealed at rest)
    text: str | None


class EventList(BaseModel):
    items: list[EventRead]
