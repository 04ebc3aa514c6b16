"""Transfer requests: one row per request, matched to a case of the owner or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class TransferRequest(Base):
    __tablename__ = "transfer_requests"
    __table_args__ = (
        Index("ix_transfer_requests_requester", "requester_organization_id", "created_at"),
        Index("ix_transfer_requests_owner", "owner_organization_id", "created_at"),
        # the deadline pass reads only the requests still waiting, by urgency and due time
        Index("ix_transfer_requests_due", "status", "urgency", "answer_by"),
    )

    id: Mapped[str] = id_column()
    requester_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    # the organisation asked: the one the requester named (matched or not)
    owner_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    # the owner's case the request names, when the hub could match it; never shown to the
    # requester (`hub.transfers.requests.service`)
    case_id: Mapped[str | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    # how the requester named it: `case_ref` (the owner's reference) or `referral`
    named_by: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    # what the requester wrote (the reference or referral id as given, and its reason), and
    # the words of the refusal or withdrawal: sealed with the request's own data key (owner
    # `transfer_request:<id>`), shredded with the case it was matched to
    asked_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    words_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(32))
    status_reason: Mapped[str | None] = mapped_column(String(64))
    refusal_code: Mapped[str | None] = mapped_column(String(64))
    transfer_id: Mapped[str | None] = mapped_column(ForeignKey("transfers.id", ondelete="SET NULL"))
    # the answer's deadline (`hub.transfers.requests.deadlines`) and its markers
    answer_by: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    overdue_since: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
