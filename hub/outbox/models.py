"""The transactional outbox: asynchronous work recorded with the change that causes it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base, id_column


class OutboxStatus(StrEnum):
    pending = "pending"  # written, not yet handed to the broker (or due for a retry)
    dispatched = "dispatched"  # handed to the broker, not yet claimed by a worker
    running = "running"  # claimed by a worker until lease_until
    done = "done"
    dead = "dead"  # gave up after the maximum number of attempts


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "available_at"),)

    id: Mapped[str] = id_column()
    topic: Mapped[str] = mapped_column(String(80))
    # identifiers only: personal data never travels through the broker
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    claim: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
