"""The accounting of disclosures, as the case's owner reads it (ids, names and hashes only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


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
    payload_sha256: str
    # the entry of the hash-chained audit log that makes this row tamper-evident
    audit_seq: int


class DisclosurePage(BaseModel):
    items: list[DisclosureRead]
    next: str | None
