"""Building a chain, and an attacker's moves on it: raw SQL straight to the database.

The attacker knows the hashing scheme (it is in the source) but not the signing key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import JSON, bindparam, select, text

from hub.audit.checkpoints import checkpoint
from hub.audit.models import AuditEntry
from hub.audit.service import entry_hash, record
from hub.audit.tasks import stale_after
from hub.audit.verify import Expectation, VerifyReport, verify
from hub.clock import clock
from hub.db.base import UTCDateTime
from hub.runtime import Runtime


def build_chain(runtime: Runtime, n: int, *, checkpoints_at: Iterable[int] = ()) -> None:
    """n entries, one transaction each, with a signed checkpoint after each listed seq."""
    marks = set(checkpoints_at)
    for i in range(1, n + 1):
        with runtime.sessions.begin() as db:
            record(
                db,
                actor=f"client:{i % 3}",
                action="referral.sent" if i % 2 else "case.updated",
                object_type="referral",
                object_id=f"r{i:04d}",
                details={"categories": ["identity", "contact"][: 1 + i % 2], "n": i},
            )
        if i in marks:
            with runtime.sessions.begin() as db:
                assert checkpoint(db=db, key=runtime.audit_key) is not None


def verify_now(runtime: Runtime, *, expect: Sequence[Expectation] = ()) -> VerifyReport:
    """As `hub audit verify` does: stale checkpoints count, outside copies when given."""
    with runtime.sessions.begin() as db:
        return verify(
            db=db,
            public_keys=[runtime.audit_key.public_key],
            expect=expect,
            stale_after=stale_after(runtime.settings),
        )


def wait_past_stale(runtime: Runtime) -> None:
    """Let more time pass than entries may wait for a checkpoint (the clock, not sleep)."""
    clock.advance(stale_after(runtime.settings) + timedelta(seconds=1))


def sql(runtime: Runtime, statement: str, **params: Any) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(text(statement), params)


def rows(runtime: Runtime, where: str = "1=1", **params: Any) -> list[Any]:
    with runtime.engine.connect() as conn:
        # Core, so the columns come back typed (times, JSON) on SQLite as on PostgreSQL
        table = AuditEntry.__table__
        return list(conn.execute(select(table).where(text(where)).order_by(table.c.seq), params))


def set_details(runtime: Runtime, seq: int, details: dict[str, Any]) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_entries SET details = :d WHERE seq = :seq").bindparams(
                bindparam("d", type_=JSON)
            ),
            {"d": details, "seq": seq},
        )


def move_seq(runtime: Runtime, *, above: int, by: int) -> None:
    """Renumber entries above a seq, in two steps so the primary key never collides."""
    sql(runtime, "UPDATE audit_entries SET seq = seq + 100000 WHERE seq > :a", a=above)
    sql(
        runtime,
        "UPDATE audit_entries SET seq = seq - 100000 + :by WHERE seq > 100000",
        by=by,
    )


def swap_seqs(runtime: Runtime, a: int, b: int) -> None:
    sql(runtime, "UPDATE audit_entries SET seq = -1 WHERE seq = :a", a=a)
    sql(runtime, "UPDATE audit_entries SET seq = :a WHERE seq = :b", a=a, b=b)
    sql(runtime, "UPDATE audit_entries SET seq = :b WHERE seq = -1", b=b)


def rehash(row: Any, prev_hash: str, **changes: Any) -> dict[str, Any]:
    """The row as the attacker rewrites it: changed fields, then a hash that fits."""
    fields = {
        "seq": row.seq,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "details": row.details,
        **changes,
        "prev_hash": prev_hash,
    }
    return {**fields, "hash": entry_hash(**fields)}


def insert(runtime: Runtime, entry: dict[str, Any]) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_entries "
                "(seq, at, actor, action, object_type, object_id, details, prev_hash, hash) "
                "VALUES (:seq, :at, :actor, :action, :object_type, :object_id, :details, "
                ":prev_hash, :hash)"
            ).bindparams(bindparam("details", type_=JSON), bindparam("at", type_=UTCDateTime())),
            entry,
        )


def rewrite_from(runtime: Runtime, seq: int, **changes: Any) -> None:
    """Change entry `seq` and rehash everything after it, head row included: consistent."""
    rechain(runtime, seq, rows(runtime, "seq >= :s", s=seq), **changes)


def rechain(runtime: Runtime, seq: int, tail: Sequence[Any], **changes: Any) -> None:
    """Write `tail` (rows as read) from `seq` on, numbered consecutively and re-linked, the
    first with `changes`; everything from `seq` on is replaced and the head moved: the chain
    is consistent again."""
    before = rows(runtime, "seq = :s", s=seq - 1)
    prev_hash = before[0].hash if before else "0" * 64
    sql(runtime, "DELETE FROM audit_entries WHERE seq >= :s", s=seq)
    last = seq - 1
    for i, row in enumerate(tail):
        last = seq + i
        entry = rehash(row, prev_hash, seq=last, **(changes if i == 0 else {}))
        insert(runtime, entry)
        prev_hash = entry["hash"]
    sql(
        runtime,
        "UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1",
        seq=last,
        hash=prev_hash,
    )


def remove_and_renumber(runtime: Runtime, *seqs: int) -> None:
    """Delete entries and close the gap: later ones renumbered and re-linked, head moved."""
    first = min(seqs)
    tail = [r for r in rows(runtime, "seq >= :s", s=first) if r.seq not in seqs]
    rechain(runtime, first, tail)


def delete_checkpoints(runtime: Runtime, where: str = "1=1", **params: Any) -> None:
    sql(runtime, f"DELETE FROM audit_checkpoints WHERE {where}", **params)


def checkpoint_ids(runtime: Runtime) -> list[int]:
    with runtime.engine.connect() as conn:
        return list(
            conn.execute(text("SELECT id FROM audit_checkpoints ORDER BY seq, id")).scalars()
        )
