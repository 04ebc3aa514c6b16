"""Recorded informed consent: immutable versions, withdrawals, evidence, gate decisions.

A consent row is never updated. A change is a new version (same `series_id`, `version` + 1,
`supersedes_id` pointing at the one it replaces); a withdrawal is a row of its own. What a
consent currently is (active, superseded, withdrawn, expired) is derived, never stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (
        UniqueConstraint("series_id", "version"),
        Index("ix_consents_case_valid", "case_id", "valid_from"),
    )

    id: Mapped[str] = id_column()
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    series_id: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int]
    supersedes_id: Mapped[str | None] = mapped_column(
        ForeignKey("consents.id", ondelete="RESTRICT"), unique=True
    )
    given_by: Mapped[str] = mapped_column(String(16))  # subject | caregiver
    # the caregiver's name and relationship: personal data, sealed with the case's key
    caregiver_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    child_assent: Mapped[bool | None]
    method: Mapped[str] = mapped_column(String(16))  # written | verbal | thumbprint | electronic
    witness: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16))
    interpreter: Mapped[str | None] = mapped_column(String(200))
    purposes: Mapped[list[str]] = mapped_column(JSON)
    recipient_organizations: Mapped[list[str]] = mapped_column(JSON)
    recipient_kinds: Mapped[list[str]] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    excluded_organizations: Mapped[list[str]] = mapped_column(JSON)
    excluded_kinds: Mapped[list[str]] = mapped_column(JSON)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    given_at: Mapped[datetime]  # when the person consented (stale-consent rule)
    # how long a recipient may keep what it receives under this consent, counted from each
    # disclosure (`hub.consent.data_life`): day | month | year and how many; none: no limit
    data_life_unit: Mapped[str | None] = mapped_column(String(8))
    data_life_value: Mapped[int | None]
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentWithdrawal(Base):
    """Withdrawal of a consent series: from then on no version of it permits anything."""

    __tablename__ = "consent_withdrawals"

    series_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    withdrawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    method: Mapped[str] = mapped_column(String(16))
    reason_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    recorded_by: Mapped[str] = mapped_column(String(200))


class ConsentEvidence(Base):
    """A scanned consent form, sealed with the case's key, with its SHA-256."""

    __tablename__ = "consent_evidence"

    consent_id: Mapped[str] = mapped_column(
        ForeignKey("consents.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class GateDecision(Base):
    """Every answer the consent gate gave, with its reasons and the policy version."""

    __tablename__ = "gate_decisions"
    __table_args__ = (Index("ix_gate_decisions_case", "case_id", "decided_at"),)

    id: Mapped[str] = id_column()
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    from_organization_id: Mapped[str] = mapped_column(String(32))
    recipient_organization_id: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(64))
    requested_categories: Mapped[list[str]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(8))  # permit | review | deny
    permitted_categories: Mapped[list[str]] = mapped_column(JSON)
    consent_ids: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    policy_version: Mapped[int]
    context: Mapped[str] = mapped_column(String(40))  # referral, transfer, delivery, fhir_read...
    # what the disclosure rests on: `consent`, or a basis of the policy's `legal_bases:`
    legal_basis: Mapped[str] = mapped_column(
        String(40), default="consent", server_default="consent"
    )
    actor: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
