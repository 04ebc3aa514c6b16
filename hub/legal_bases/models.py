"""What the office owes a person after a disclosure made without their consent: the news of it.

One row per request released on a legal basis (`hub.policy.legal_bases`), a referral or a case
transfer (exactly one of the two), opened with its first disclosure. It names the case, the
request and the basis by id and code; who was told, when and
how is recorded by a person of the owning office once it is safe to tell them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class PersonNotice(Base):
    __tablename__ = "person_notices"
    __table_args__ = (
        UniqueConstraint("referral_id", name="uq_person_notices_referral"),
        UniqueConstraint("transfer_id", name="uq_person_notices_transfer"),
        CheckConstraint(
            "(referral_id IS NULL) <> (transfer_id IS NULL)", name="one_referral_or_transfer"
        ),
        # the reminders' pass: those still owed, by their next reminder
        Index("ix_person_notices_owed", "told_at", "remind_at"),
        Index("ix_person_notices_case", "case_id", "created_at"),
    )

    id: Mapped[str] = id_column()
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    # the office that owns the case and owes the news
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    # the request whose disclosure the news is owed for: a referral or a case transfer
    referral_id: Mapped[str | None] = mapped_column(String(32))
    transfer_id: Mapped[str | None] = mapped_column(String(32))
    recipient_organization_id: Mapped[str] = mapped_column(String(32))
    legal_basis: Mapped[str] = mapped_column(String(40))
    # who asked for the disclosure (reminded with the office's consent officers)
    requested_by: Mapped[str] = mapped_column(String(200))
    disclosed_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the next reminder while nobody has recorded that the person was told
    remind_at: Mapped[datetime | None]
    reminders: Mapped[int] = mapped_column(default=0, server_default="0")
    told_at: Mapped[datetime | None]
    # subject | caregiver
    told_whom: Mapped[str | None] = mapped_column(String(16))
    # in_person | phone | message | other
    told_how: Mapped[str | None] = mapped_column(String(16))
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime | None]
