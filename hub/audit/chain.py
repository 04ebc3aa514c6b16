"""The audit chain's entries: walking them and naming the first that does not hold.

Each entry carries the hash of its predecessor, so altering, deleting, inserting or reordering
entries breaks a link somewhere. A consistent rewrite from some entry onwards (every hash
recomputed, the head row moved) cannot be seen from the links alone: signed checkpoints
(`hub.audit.checkpoints`) fix the hash at their sequence number with a key the database does not
hold, and are chained to each other so that deleting them shows too. `hub.audit.verify` puts
the checks together.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from hub.audit.models import AuditEntry, AuditHead
from hub.audit.service import entry_hash

GENESIS_HASH = "0" * 64
BATCH = 1000


class Reason(StrEnum):
    ENTRY_MISSING = "entry_missing"  # a sequence number is absent: an entry was deleted
    UNEXPECTED_ENTRY = "unexpected_entry"  # a sequence number the chain cannot have
    HASH_MISMATCH = "hash_mismatch"  # content (or position) no longer matches its hash
    PREV_HASH_MISMATCH = "prev_hash_mismatch"  # does not link to the entry before it
    HEAD_MISSING = "head_missing"
    HEAD_MISMATCH = "head_mismatch"  # the head row names another hash than the last entry's
    ENTRY_AFTER_HEAD = "entry_after_head"  # entries the head row does not account for
    TAIL_TRUNCATED = "tail_truncated"  # entries the head or a checkpoint vouches for are gone
    CHECKPOINT_UNKNOWN_KEY = "checkpoint_unknown_key"
    CHECKPOINT_BAD_SIGNATURE = "checkpoint_bad_signature"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"  # signed hash differs from the entry's
    # a checkpoint does not name the one before it: one was deleted, altered or reordered
    CHECKPOINT_CHAIN_BROKEN = "checkpoint_chain_broken"
    # entries older than the allowed delay have no signed checkpoint: checkpoints were deleted
    # (or the scheduler has not signed for that long)
    CHECKPOINT_STALE = "checkpoint_stale"
    # the checkpoint this signer made last (its own record, outside the database) is gone
    CHECKPOINT_FORGOTTEN = "checkpoint_forgotten"
    # a disclosure row whose audit entry is gone or says something else
    DISCLOSURE_MISMATCH = "disclosure_mismatch"
    # a checkpoint kept outside the hub (`--expect SEQ:HASH`) that the chain does not contain
    EXPECTATION_MISMATCH = "expectation_mismatch"


@dataclass(frozen=True)
class Break:
    seq: int
    reason: Reason
    detail: str
    checkpoint_id: int | None = None


class ChainBroken(Exception):
    """Raised where carrying on would bless a broken chain (signing a checkpoint over it)."""

    def __init__(self, brk: Break) -> None:
        super().__init__(f"audit chain broken at entry {brk.seq}: {brk.reason} ({brk.detail})")
        self.brk = brk


@dataclass(frozen=True)
class Walk:
    count: int
    last_seq: int
    last_hash: str
    brk: Break | None


def walk(db: Session, *, after_seq: int | None, after_hash: str) -> Walk:
    """Stream entries in sequence order and stop at the first that does not hold.

    `after_seq=None` walks everything, including sequence numbers the chain cannot have.
    """
    columns = (
        AuditEntry.seq,
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.object_type,
        AuditEntry.object_id,
        AuditEntry.details,
        AuditEntry.prev_hash,
        AuditEntry.hash,
    )
    stmt = select(*columns).order_by(AuditEntry.seq).execution_options(yield_per=BATCH)
    if after_seq is not None:
        stmt = stmt.where(AuditEntry.seq > after_seq)
    expected_seq = (after_seq or 0) + 1
    prev_hash = after_hash
    count = 0
    brk: Break | None = None
    rows = db.execute(stmt)
    for row in rows:
        brk = entry_break(row, expected_seq, prev_hash)
        if brk is not None:
            break
        count += 1
        expected_seq, prev_hash = row.seq + 1, row.hash
    rows.close()
    return Walk(count=count, last_seq=expected_seq - 1, last_hash=prev_hash, brk=brk)


def entry_break(row: Row[Any], expected_seq: int, prev_hash: str) -> Break | None:
    seq: int = row.seq
    if seq > expected_seq:
        return Break(
            expected_seq, Reason.ENTRY_MISSING, f"entry {expected_seq} is missing; next is {seq}"
        )
    if seq < expected_seq:
        return Break(seq, Reason.UNEXPECTED_ENTRY, f"sequence number {seq} is out of order")
    recomputed = entry_hash(
        seq=seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        details=row.details,
        prev_hash=row.prev_hash,
    )
    if recomputed != row.hash:
        return Break(seq, Reason.HASH_MISMATCH, "its content does not match its hash")
    if row.prev_hash != prev_hash:
        return Break(
            seq, Reason.PREV_HASH_MISMATCH, f"it does not link to entry {expected_seq - 1}"
        )
    return None


def head_break(head: AuditHead | None, walked: Walk) -> Break | None:
    if head is None:
        return Break(walked.last_seq + 1, Reason.HEAD_MISSING, "the audit head row is missing")
    if head.seq < walked.last_seq:
        return Break(
            head.seq + 1,
            Reason.ENTRY_AFTER_HEAD,
            f"the head stops at {head.seq} but entries run to {walked.last_seq}",
        )
    if head.seq > walked.last_seq:
        return Break(
            walked.last_seq + 1,
            Reason.TAIL_TRUNCATED,
            f"the head is at {head.seq} but entries stop at {walked.last_seq}",
        )
    if head.hash != walked.last_hash:
        return Break(head.seq, Reason.HEAD_MISMATCH, "the head's hash is not the last entry's")
    return None
