"""Referrals (orientations): a service request from a case's owner to another organisation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column

# the columns a report reads besides `created_at` (`hub.reports.service`)
REPORTED = (
    "from_organization_id",
    "to_organization_id",
    "sent_at",
    "service_type",
    "service_id",
    "status",
    "status_reason",
    "urgency",
    "subject_sex",
    "subject_age_band",
    "decline_reason_code",
    "outcome_code",
    "acknowledged_at",
    "accepted_at",
    "completed_at",
)
# the moves a referral's row keeps the time of, the first time it makes each
MILESTONES = {
    "acknowledged": "acknowledged_at",
    "accepted": "accepted_at",
    "completed": "completed_at",
}


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_sender", "from_organization_id", "created_at"),
        Index("ix_referrals_recipient", "to_organization_id", "created_at"),
        # the deadline job reads only referrals still waiting, by due time
        Index("ix_referrals_status_ack_due", "status", "acknowledge_by"),
        # reports count referrals by the day they were made; on PostgreSQL the index also
        # holds every column a report groups, filters or times by, so a report reads the
        # index alone (an index-only scan), never the rows
        Index("ix_referrals_report", "created_at", postgresql_include=list(REPORTED)),
        # and past the acknowledgement, the move owed next by its deadline
        Index("ix_referrals_due", "due_move", "due_at"),
        # the FHIR facade's polling: each party's referrals by when they last changed
        Index("ix_referrals_sender_updated", "from_organization_id", "updated_at"),
        Index("ix_referrals_recipient_updated", "to_organization_id", "updated_at"),
    )

    id: Mapped[str] = id_column()
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    to_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    service_type: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(64))
    urgency: Mapped[str] = mapped_column(String(16))  # emergency | high | normal
    requested_categories: Mapped[list[str]] = mapped_column(JSON)
    # the consented subset actually disclosed (data minimisation), and what was held back
    categories: Mapped[list[str]] = mapped_column(JSON)
    withheld_categories: Mapped[list[str]] = mapped_column(JSON)
    consent_ids: Mapped[list[str]] = mapped_column(JSON)
    decision_id: Mapped[str] = mapped_column(ForeignKey("gate_decisions.id", ondelete="RESTRICT"))
    review_id: Mapped[str | None] = mapped_column(String(32))
    # the directory's service it is for, if named (kept as it was if the service is removed);
    # the directory's rules the sender overrode (codes: `service_full`, `age_not_served`,
    # `sex_not_served`) and its reason, sealed with the case's data key like the note
    service_id: Mapped[str | None] = mapped_column(String(32), index=True)
    service_override: Mapped[list[str] | None] = mapped_column(JSON)
    override_reason_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(64))  # a code, never free text
    # the sender's note and the disclosed snapshot: sealed with the case's data key
    note_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    # what the disclosure rests on: `consent`, or a basis of the policy's `legal_bases:` with
    # the requester's written justification (sealed with the case's data key)
    legal_basis: Mapped[str] = mapped_column(
        String(40), default="consent", server_default="consent"
    )
    basis_justification_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    snapshot_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    # when the referral left for its recipient (directly, or on a review's approval); the
    # recipient sees only referrals that were sent, never one still held or refused by review
    sent_at: Mapped[datetime | None]
    acknowledge_by: Mapped[datetime | None]
    overdue_since: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    # the subject's sex and age band (`hub.policy.rules.report_age_band`) when the referral was
    # made, for reports: coarse, in the clear, so a report decrypts nothing (None before 0013)
    subject_sex: Mapped[str | None] = mapped_column(String(16))
    subject_age_band: Mapped[str | None] = mapped_column(String(16))
    # the recipient's coded answers (the policy's decline_reasons, outcomes)
    decline_reason_code: Mapped[str | None] = mapped_column(String(64))
    outcome_code: Mapped[str | None] = mapped_column(String(64))
    # follow-up past the acknowledgement (`hub.referrals.follow_up`): the move the recipient
    # owes next (answer, start, follow_up), its deadline, and that deadline's markers (cleared
    # when the next move sets a new one)
    due_move: Mapped[str | None] = mapped_column(String(16))
    due_at: Mapped[datetime | None]
    due_reminded_at: Mapped[datetime | None]
    due_overdue_since: Mapped[datetime | None]
    due_escalated_at: Mapped[datetime | None]
    # when the referral was first acknowledged, accepted, completed (the time of that move's
    # event, `hub.lifecycle.history.apply`): reports time the moves from these, not the events
    acknowledged_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def reached(self, status: str, at: datetime) -> None:
        """Keep the time of a timed move (`MILESTONES`) the first time it is made."""
        column = MILESTONES.get(status)
        if column is not None and getattr(self, column) is None:
            setattr(self, column, at)


class WithdrawalNotice(Base):
    """A recipient that already received data told that a consent it rests on was withdrawn.

    One per referral and consent series: the withdrawal cascade can run again without telling
    anyone twice. `notified_at` is set once the recipient's channel has it.
    """

    __tablename__ = "referral_withdrawal_notices"
    __table_args__ = (PrimaryKeyConstraint("referral_id", "series_id"),)

    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    series_id: Mapped[str] = mapped_column(String(32))
    consent_id: Mapped[str] = mapped_column(String(32))
    recipient_organization_id: Mapped[str] = mapped_column(String(32))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None]
