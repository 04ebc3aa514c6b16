"""The audit checkpoint as operations see it: the latest one's sequence number and age, how
many entries wait for the next, and whether they have waited too long.

"Too long" is the signer's own limit (`hub.audit.tasks.stale_after`: three
`HUB_AUDIT_CHECKPOINT_SECONDS`, 15 minutes by default), counted from the first entry no
checkpoint covers, as `hub audit verify` counts `checkpoint_stale`. Past it the scheduled
signer refuses to sign until an operator checks the chain (docs/security.md), so the hub does
not mend by itself: `/metrics` says so (`hub_audit_checkpoint_stale`), for an alert, and
`/readyz` shows it without failing. An idle hub signs nothing new, so the checkpoint's age
alone says nothing and is only reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audit import published
from hub.audit.models import AuditEntry


@dataclass(frozen=True)
class CheckpointState:
    seq: int | None  # the latest checkpoint's sequence number; None before the first
    at: datetime | None  # when it was signed
    unsigned: int  # entries after it
    waiting_since: datetime | None  # the time of the first of them

    def age(self, now: datetime) -> timedelta | None:
        return None if self.at is None else now - self.at

    def stale(self, *, now: datetime, limit: timedelta) -> bool:
        return self.waiting_since is not None and now - self.waiting_since > limit

    def detail(self, *, now: datetime, limit: timedelta) -> dict[str, Any]:
        """What `/readyz` says: numbers only."""
        age = self.age(now)
        if self.stale(now=now, limit=limit):
            status = "stale"
        else:
            status = "none" if self.seq is None else "ok"
        return {
            "status": status,
            "seq": self.seq,
            "age_seconds": None if age is None else round(age.total_seconds(), 3),
            "unsigned_entries": self.unsigned,
            "stale_after_seconds": int(limit.total_seconds()),
        }


def read(*, db: Session) -> CheckpointState:
    cp = published.latest(db=db)
    covered = 0 if cp is None else cp.seq
    unsigned = (
        db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.seq > covered)) or 0
    )
    first = db.scalar(
        select(AuditEntry.at).where(AuditEntry.seq > covered).order_by(AuditEntry.seq).limit(1)
    )
    return CheckpointState(
        seq=None if cp is None else cp.seq,
        at=None if cp is None else cp.at,
        unsigned=unsigned,
        waiting_since=first,
    )
