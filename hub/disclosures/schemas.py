"""The accounting of disclosures, as the case's owner reads it (ids, names and hashes only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DisclosureRead(BaseModel):
    id: str
    at: datetime
    recipient_organization_id: str
    categories: list[str]
    consent_ids: list[str]
    referral_id: str | None
    transfer_id: str | None
    decision_id: str | None
    channel: str
    payload_sha256: str = Field(
        description=(
            "Keyed digest of what was disclosed: HMAC-SHA256, under a key derived from the "
            "case's data key, of the SHA-256 of the canonical JSON payload. It cannot be "
            "checked, or reversed, without that key: once the case is erased, by nobody."
        )
    )
    # the entry of the hash-chained audit log that makes this row tamper-evident
    audit_seq: int
    # data life: the date by which the recipient must have erased what it received (null: no
    # limit), whether that date has passed without its confirmation, and its confirmation
    erase_by: datetime | None = None
    erase_overdue: bool = False
    erasure_confirmed_at: datetime | None = None
    erasure_confirmed_by: str | None = None
    # what it rested on: `consent`, or the legal basis of the policy it was made on
    legal_basis: str = "consent"


class ErasureConfirmationCreate(BaseModel):
    """The recipient says it has erased what it received under a referral."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class ErasureConfirmationRead(BaseModel):
    referral_id: str
    # when and by whom it was first confirmed (a second confirmation changes nothing)
    confirmed_at: datetime
    confirmed_by: str
    # the disclosures to the caller the confirmation covers, with their erase-by dates
    disclosure_ids: list[str]
    erase_by: datetime | None


class DisclosurePage(BaseModel):
    items: list[DisclosureRead]
    next: str | None
