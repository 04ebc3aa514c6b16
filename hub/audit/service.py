"""Appending to the audit chain. Verification and checkpoints live in `hub.audit.chain`.

Entries are queued with the change they record and appended, in order, when its transaction
commits (`record`); `record_now` appends at once for a caller that needs the sequence number.
The appending is a listener on the hub's session factory, installed by `listen` as the runtime
is built; a session without it refuses to queue an entry, so none can be dropped unseen.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from hub.audit.models import AuditEntry, AuditHead
from hub.clock import utcnow

# the entries a session queued in its current transaction
QUEUE = "hub.audit.queued"
# set in the info of the sessions whose commits append what they queued (`listen`)
APPENDS = "hub.audit.appends"


class AuditNotInstalled(RuntimeError):
    """A session whose commit would not append the entries queued in it."""


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON form of the entry, including its predecessor's hash."""
    body = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class _Queued:
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any]


def record(
    db: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Queue one entry in the caller's transaction: it is appended to the chain when the
    transaction commits, and never if it rolls back.

    `details` holds identifiers, codes and counts only: never personal data. Appending takes
    the chain's head row lock; taking it at commit rather than here keeps it for the commit's
    last milliseconds instead of the rest of the request, so concurrent requests do not queue
    behind each other's audit entries.
    """
    if not db.info.get(APPENDS):
        raise AuditNotInstalled("this session's factory has no audit listener (audit.listen)")
    queued = db.info.setdefault(QUEUE, [])
    queued.append(_Queued(utcnow(), actor, action, object_type, object_id, dict(details or {})))


def record_now(
    db: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry now, after what the transaction queued before it, for a caller that
    needs its sequence number (the accounting of disclosures keeps it). The head stays locked
    until the transaction ends."""
    record(
        db,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
    )
    return _append(db, db.info.pop(QUEUE))[-1]


def _append(db: Session, items: list[_Queued]) -> list[AuditEntry]:
    # the head row is locked so concurrent appends from several processes queue instead of
    # forking the chain
    head = db.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
    entries = []
    for item in items:
        fields = {**asdict(item), "seq": head.seq + 1, "prev_hash": head.hash}
        entry = AuditEntry(**fields, hash=entry_hash(**fields))
        db.add(entry)
        entries.append(entry)
        head.seq, head.hash = entry.seq, entry.hash
    db.flush()
    return entries


def listen(sessions: sessionmaker[Session]) -> None:
    """Append what each transaction of `sessions` queued as it commits; forget it if not."""
    # the factory's own mark, not `event.contains`: SQLAlchemy keys its registry by id(), which a
    # new factory's session class can reuse once an old one is collected
    info = sessions.kw.setdefault("info", {})
    if info.get(APPENDS):
        return
    info[APPENDS] = True
    event.listen(sessions, "before_commit", _append_queued)
    event.listen(sessions, "after_transaction_end", _forget_queued)


def _append_queued(session: Session) -> None:
    queued = session.info.pop(QUEUE, None)
    if queued:
        _append(session, queued)


def _forget_queued(session: Session, transaction: SessionTransaction) -> None:
    # a rolled-back transaction's entries go with it
    if transaction.parent is None:
        session.info.pop(QUEUE, None)
