"""Review payloads: what a consent officer sees and sends."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ReviewStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    denied = "denied"


class ReviewKind(StrEnum):
    referral = "referral"
    transfer = "transfer"


class ReviewDecide(BaseModel):
    model_config = ConfigDict(extra="forbid")

    justification: str = Field(max_length=2000)

    @field_validator("justification")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a justification is required")
        return value


class ReviewRead(BaseModel):
    """A held request, with what the gate said about it (ids, codes and category names)."""

    id: str
    kind: ReviewKind
    object_id: str
    case_id: str
    requesting_organization_id: str
    recipient_organization_id: str
    purpose: str
    # what would leave on approval, and what the gate withheld regardless
    categories: list[str]
    withheld_categories: list[str]
    consent_ids: list[str]
    reasons: list[dict[str, Any]]
    status: ReviewStatus
    requested_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    justification: str | None


class ReviewPage(BaseModel):
    items: list[ReviewRead]
    next: str | None
