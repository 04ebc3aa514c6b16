"""The accounting of disclosures, as the case's owner reads it (ids, names and hashes only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


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


class DisclosurePage(BaseModel):
    items: list[DisclosureRead]
    next: str | None
