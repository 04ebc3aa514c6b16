"""Appending to the audit chain. Verification and checkpoints live in `hub.audit.chain`.

Entries are queued with the change they record and appended, in order, when its transaction
commits (`record`); `record_now` appends at once for a caller that needs the sequence number.
The appending is a listener on the hub's session factory, installed by `listen` as the runtime
is built; a session without it refuses to queue an entry, so none can be dropped unseen.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, bindparam, event, text, update
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from hub.audit.models import AuditEntry, AuditHead
from hub.clock import utcnow
from hub.db.base import UTCDateTime

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


def chain_prefix(
    *,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    details: dict[str, Any],
) -> str:
    """The canonical text `entry_hash` hashes, up to the predecessor's hash: the database
    completes it (`prefix + prev_hash + '","seq":' + seq + '}'`) where it chains the entry.

    The keys are sorted, and `prev_hash` and `seq` come last: whatever else the entry holds,
    its text ends with those two, the one a hexadecimal string, the other an integer.
    """
    body = {
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return canonical[:-1] + ',"prev_hash":"'


def chain_text(prefix: str, prev_hash: str, seq: int) -> str:
    """What `entry_hash` hashes, from `chain_prefix`'s text (the databases build the same)."""
    return f'{prefix}{prev_hash}","seq":{seq}}}'


@dataclass(frozen=True)
class _Queued:
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any]

    def fields(self) -> dict[str, Any]:
        # `dataclasses.asdict` deep-copies the details: 6% of a referral's CPU in a profile, for
        # values nobody changes (`record` already took a copy of the caller's dict)
        return {
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "details": self.details,
        }


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
    items = db.info.pop(QUEUE)
    seq, prev_hash, hash_ = _append(db, items)[-1]
    return AuditEntry(**items[-1].fields(), seq=seq, prev_hash=prev_hash, hash=hash_)


def _append(db: Session, items: list[_Queued]) -> list[tuple[int, str, str]]:
    """Chain `items` after the head and move it, the head row locked for as short a time as
    the database allows: concurrent appends from several processes queue instead of forking
    the chain. What the session still had to write is written first, outside the lock.
    Returns each item's sequence number, predecessor's hash and hash."""
    db.flush()
    if db.get_bind().dialect.name == "postgresql":
        return _append_postgresql(db, items)
    return _append_sqlite(db, items)


# one statement (the migration's `hub_audit_append`): it locks the head, chains, inserts and
# moves the head; the lock is then held for the commit alone
_APPEND_POSTGRESQL = text(
    "SELECT entry_seq, entry_prev_hash, entry_hash FROM hub_audit_append("
    "CAST(:at AS text[]), CAST(:actor AS text[]), CAST(:action AS text[]), "
    "CAST(:object_type AS text[]), CAST(:object_id AS text[]), "
    "CAST(:details AS text[]), CAST(:prefix AS text[]))"
)


def _append_postgresql(db: Session, items: list[_Queued]) -> list[tuple[int, str, str]]:
    params = {
        "at": _text_array([item.at.isoformat(timespec="microseconds") for item in items]),
        "actor": _text_array([item.actor for item in items]),
        "action": _text_array([item.action for item in items]),
        "object_type": _text_array([item.object_type for item in items]),
        "object_id": _text_array([item.object_id for item in items]),
        "details": _text_array([json.dumps(item.details) for item in items]),
        "prefix": _text_array([chain_prefix(**item.fields()) for item in items]),
    }
    # on the session's connection, not through the ORM's execution (rows of columns, and
    # `_append` has just flushed): its per-statement bookkeeping costs more than the call
    rows = db.connection().execute(_APPEND_POSTGRESQL, params).all()
    return [(row[0], row[1], row[2]) for row in rows]


def _text_array(values: list[str | None]) -> str:
    """PostgreSQL's literal of a text array, every element quoted (NULL for None).

    What psycopg sends for a list, built with two `str.replace` per element instead of its
    regular expression, which calls back into Python for each quote it escapes: a JSON text
    is mostly quotes, and the details and prefixes were 3% of a referral's CPU.
    """
    quoted = (
        "NULL" if value is None else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        for value in values
    )
    return "{" + ",".join(quoted) + "}"


def _append_sqlite(db: Session, items: list[_Queued]) -> list[tuple[int, str, str]]:
    # SQLite's transaction holds the database's write lock from its BEGIN IMMEDIATE: two
    # statements, the entries chained from the head by the database (a recursive query, with
    # the `hub_sha256` that `hub.db.session` gives each connection), then the head moved
    rows, params, binds = [], {}, []
    for n, item in enumerate(items, 1):
        rows.append(
            f"({n}, :prefix{n}, :at{n}, :actor{n}, :action{n}, :object_type{n}, "
            f":object_id{n}, :details{n})"
        )
        params.update(
            {
                f"prefix{n}": chain_prefix(**item.fields()),
                f"at{n}": item.at,
                f"actor{n}": item.actor,
                f"action{n}": item.action,
                f"object_type{n}": item.object_type,
                f"object_id{n}": item.object_id,
                f"details{n}": item.details,
            }
        )
        binds += [bindparam(f"at{n}", type_=UTCDateTime()), bindparam(f"details{n}", type_=JSON())]
    # the f-string below adds placeholders only (`rows`): every value is a bound parameter
    statement = text(
        "INSERT INTO audit_entries"  # noqa: S608
        " (seq, at, actor, action, object_type, object_id, details, prev_hash, hash)"
        " WITH RECURSIVE"
        " items (i, prefix, at, actor, action, object_type, object_id, details)"
        f" AS (VALUES {', '.join(rows)}),"
        " chain (i, seq, prev_hash, hash) AS ("
        "  SELECT 0, seq, NULL, hash FROM audit_head WHERE id = 1"
        "  UNION ALL"
        "  SELECT items.i, chain.seq + 1, chain.hash,"
        "   hub_sha256(items.prefix || chain.hash || '\",\"seq\":' || (chain.seq + 1) || '}')"
        "  FROM chain JOIN items ON items.i = chain.i + 1)"
        " SELECT chain.seq, items.at, items.actor, items.action, items.object_type,"
        "  items.object_id, items.details, chain.prev_hash, chain.hash"
        " FROM chain JOIN items ON items.i = chain.i WHERE chain.i > 0"
        " RETURNING seq, prev_hash, hash"
    ).bindparams(*binds)
    chained = sorted((row[0], row[1], row[2]) for row in db.execute(statement, params))
    if len(chained) != len(items):
        raise RuntimeError("the audit head row is missing")
    db.execute(
        update(AuditHead.__table__)
        .where(AuditHead.__table__.c.id == 1)
        .values(seq=chained[-1][0], hash=chained[-1][2])
    )
    return chained


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
