"""Verifying the audit chain, and signing checkpoints of it.

Each entry carries the hash of its predecessor, so altering, deleting, inserting or reordering
entries breaks a link somewhere. A consistent rewrite from some entry onwards (every hash
recomputed, the head row moved) cannot be seen from the links alone: the signed checkpoints
catch it, since they fix the hash at their sequence number with a key the database does not hold.

What the database alone cannot show: entries appended after the last checkpoint by someone able
to write like the hub, or the latest entries dropped together with the checkpoints above them
and the head row moved back. Checkpoints printed by `hub audit checkpoint --json` and kept
outside the database bound both.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from hub.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from hub.audit.service import entry_hash
from hub.audit.signing import AuditKey, key_id_for, verify_signature
from hub.clock import utcnow

GENESIS_HASH = "0" * 64
# signatures over checkpoints mean nothing in any other context, and v1 leaves room for a v2
SIGNATURE_CONTEXT = b"referral-hub audit checkpoint v1\n"
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
class VerifyReport:
    entries: int  # entries checked (up to the break, if any)
    checkpoints: int  # checkpoints checked (up to the break, if any)
    head_seq: int | None
    # highest sequence number a valid signed checkpoint vouches for
    checkpointed_seq: int | None
    first_broken_seq: int | None = None
    reason: Reason | None = None
    detail: str | None = None
    checkpoint_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, **asdict(self)}


@dataclass(frozen=True)
class _Walk:
    count: int
    last_seq: int
    last_hash: str
    brk: Break | None


def checkpoint_message(*, seq: int, hash: str, at: datetime, key_id: str) -> bytes:
    body = {
        "seq": seq,
        "hash": hash,
        "at": at.isoformat(timespec="microseconds"),
        "key_id": key_id,
    }
    return SIGNATURE_CONTEXT + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def checkpoint(*, db: Session, key: AuditKey) -> AuditCheckpoint | None:
    """Sign the current head, in the caller's transaction; None when nothing new to sign.

    Only the entries since the previous checkpoint are re-checked (so the cost stays small),
    and a break among them raises ChainBroken: a checkpoint must never vouch for tampering.
    """
    # the lock keeps appends (and another checkpoint) out until this one is written
    head = db.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        raise ChainBroken(Break(0, Reason.HEAD_MISSING, "the audit head row is missing"))
    last = db.execute(
        select(AuditCheckpoint)
        .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
        .limit(1)
    ).scalar()
    if last is not None and last.seq > head.seq:
        raise ChainBroken(
            Break(
                head.seq + 1,
                Reason.TAIL_TRUNCATED,
                f"checkpoint {last.id} vouches for entries up to {last.seq}; "
                f"the head stops at {head.seq}",
                last.id,
            )
        )
    if head.seq == 0 or (last is not None and (last.seq, last.hash) == (head.seq, head.hash)):
        return None
    start_seq, start_hash = 0, GENESIS_HASH
    if last is not None and last.key_id == key.key_id:
        brk = _signature_break(last, {key.key_id: key.public_key})
        if brk is not None:
            raise ChainBroken(brk)
        start_seq, start_hash = last.seq, last.hash
    # else: no checkpoint yet, or one by a key since replaced: check from the start, once
    walk = _walk(db, after_seq=start_seq, after_hash=start_hash)
    brk = walk.brk or _head_break(head, walk)
    if brk is not None:
        raise ChainBroken(brk)
    at = utcnow()
    message = checkpoint_message(seq=head.seq, hash=head.hash, at=at, key_id=key.key_id)
    cp = AuditCheckpoint(
        seq=head.seq,
        hash=head.hash,
        at=at,
        key_id=key.key_id,
        signature=base64.b64encode(key.sign(message)).decode(),
    )
    db.add(cp)
    # flushed so the caller gets the id to report, and a failure shows in its unit of work
    db.flush()
    return cp


def verify(*, db: Session, public_keys: Iterable[Ed25519PublicKey]) -> VerifyReport:
    """Check every entry, the head row and every checkpoint; name the first break.

    Give it a session that has not queried yet: on PostgreSQL it reads from one REPEATABLE
    READ snapshot, so appends made meanwhile do not look like a truncated tail. (SQLite's
    write lock, taken at BEGIN by this hub's engine, already keeps appends out.)
    """
    if db.get_bind().dialect.name == "postgresql":
        db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    keys = {key_id_for(k): k for k in public_keys}
    walk = _walk(db, after_seq=None, after_hash=GENESIS_HASH)
    head = db.get(AuditHead, 1)
    head_brk = None if walk.brk else _head_break(head, walk)

    checked = 0
    checkpointed: int | None = None
    cp_brk: Break | None = None
    limit = min((b.seq for b in (walk.brk, head_brk) if b), default=None)
    rows = db.execute(
        select(AuditCheckpoint, AuditEntry.hash)
        .outerjoin(AuditEntry, AuditEntry.seq == AuditCheckpoint.seq)
        .order_by(AuditCheckpoint.seq, AuditCheckpoint.id)
        .execution_options(yield_per=BATCH)
    )
    for cp, stored_hash in rows:
        if limit is not None and cp.seq >= limit:
            break  # nothing here can come before the break already found
        checked += 1
        cp_brk = _checkpoint_break(cp, keys, stored_hash=stored_hash, chain_end=walk.last_seq)
        if cp_brk is not None:
            break
        checkpointed = cp.seq
    rows.close()

    first = min((b for b in (walk.brk, head_brk, cp_brk) if b), key=lambda b: b.seq, default=None)
    return VerifyReport(
        entries=walk.count,
        checkpoints=checked,
        head_seq=head.seq if head is not None else None,
        checkpointed_seq=checkpointed,
        first_broken_seq=first.seq if first else None,
        reason=first.reason if first else None,
        detail=first.detail if first else None,
        checkpoint_id=first.checkpoint_id if first else None,
    )


def _walk(db: Session, *, after_seq: int | None, after_hash: str) -> _Walk:
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
        brk = _entry_break(row, expected_seq, prev_hash)
        if brk is not None:
            break
        count += 1
        expected_seq, prev_hash = row.seq + 1, row.hash
    rows.close()
    return _Walk(count=count, last_seq=expected_seq - 1, last_hash=prev_hash, brk=brk)


def _entry_break(row: Row[Any], expected_seq: int, prev_hash: str) -> Break | None:
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


def _head_break(head: AuditHead | None, walk: _Walk) -> Break | None:
    if head is None:
        return Break(walk.last_seq + 1, Reason.HEAD_MISSING, "the audit head row is missing")
    if head.seq < walk.last_seq:
        return Break(
            head.seq + 1,
            Reason.ENTRY_AFTER_HEAD,
            f"the head stops at {head.seq} but entries run to {walk.last_seq}",
        )
    if head.seq > walk.last_seq:
        return Break(
            walk.last_seq + 1,
            Reason.TAIL_TRUNCATED,
            f"the head is at {head.seq} but entries stop at {walk.last_seq}",
        )
    if head.hash != walk.last_hash:
        return Break(head.seq, Reason.HEAD_MISMATCH, "the head's hash is not the last entry's")
    return None


def _checkpoint_break(
    cp: AuditCheckpoint,
    keys: dict[str, Ed25519PublicKey],
    *,
    stored_hash: str | None,
    chain_end: int,
) -> Break | None:
    """The signature first: an unsigned claim says nothing about which entries should exist."""
    brk = _signature_break(cp, keys)
    if brk is not None:
        return brk
    if stored_hash is None and cp.seq > chain_end:
        return Break(
            chain_end + 1,
            Reason.TAIL_TRUNCATED,
            f"checkpoint {cp.id} vouches for entries up to {cp.seq}; "
            f"the chain stops at {chain_end}",
            cp.id,
        )
    if stored_hash is None:
        return Break(cp.seq, Reason.ENTRY_MISSING, f"checkpoint {cp.id}'s entry is gone", cp.id)
    if stored_hash != cp.hash:
        return Break(
            cp.seq,
            Reason.CHECKPOINT_MISMATCH,
            f"entry {cp.seq} is not the one checkpoint {cp.id} signed",
            cp.id,
        )
    return None


def _signature_break(cp: AuditCheckpoint, keys: dict[str, Ed25519PublicKey]) -> Break | None:
    key = keys.get(cp.key_id)
    if key is None:
        return Break(
            cp.seq,
            Reason.CHECKPOINT_UNKNOWN_KEY,
            f"checkpoint {cp.id} is signed by key {cp.key_id}, which was not given",
            cp.id,
        )
    message = checkpoint_message(seq=cp.seq, hash=cp.hash, at=cp.at, key_id=cp.key_id)
    try:
        signature = base64.b64decode(cp.signature, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not verify_signature(key, signature, message):
        return Break(
            cp.seq,
            Reason.CHECKPOINT_BAD_SIGNATURE,
            f"checkpoint {cp.id} has an invalid signature",
            cp.id,
        )
    return None
