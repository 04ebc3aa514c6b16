"""A notification to one person: what happened to which referral or transfer, in codes.

It names the request by id and the event by code (`referral.escalation` at the stage
`answer`, say), never the beneficiary: the console shows the words, the request's own page the
rest to whoever may see it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class Notification(Base):
    __tablename__ = "notifications"
    # a person's list, newest first, and the unread count
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at", "created_at"),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[str] = mapped_column(String(32))
    # `<object_type>.<step>`: referral.reminder, referral.overdue, referral.escalation, ...
    code: Mapped[str] = mapped_column(String(64))
    # the move owed when it happened: answer, start, follow_up; acceptance for a transfer
    stage: Mapped[str | None] = mapped_column(String(16))
    # referral | transfer | transfer_request | case (erased: the stage is why)
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]
