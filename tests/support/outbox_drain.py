"""Run the outbox in the test process: claim and execute what is due, as a worker would.

For tests of what handlers do; the outbox's own guarantees (retries, leases, real workers) are
tested in tests/outbox and tests/worker.
"""

from __future__ import annotations

from sqlalchemy import select

from hub.clock import utcnow
from hub.outbox import service
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.runtime import Runtime


def pending(runtime: Runtime, topic: str | None = None) -> list[OutboxMessage]:
    with runtime.sessions() as db:
        query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.pending)
        if topic is not None:
            query = query.where(OutboxMessage.topic == topic)
        return list(db.scalars(query.order_by(OutboxMessage.created_at, OutboxMessage.id)))


def run(runtime: Runtime, outbox_id: str) -> bool:
    """Run one message to completion; False if it was not claimable."""
    claimed = service.claim(runtime, outbox_id)
    if claimed is None:
        return False
    service.execute(runtime, claimed)
    return True


def drain(runtime: Runtime, *, rounds: int = 10) -> list[str]:
    """Run every due message, and those their handlers queue; returns the topics run, in order."""
    topics: list[str] = []
    for _ in range(rounds):
        now = utcnow()
        due = [m for m in pending(runtime) if m.available_at <= now]
        if not due:
            return topics
        for message in due:
            if run(runtime, message.id):
                topics.append(message.topic)
    raise AssertionError("the outbox did not settle")
