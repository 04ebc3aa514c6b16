"""Verifying the whole audit log: entries, head, checkpoints, disclosures and outside copies.

What the database alone cannot show: the newest entries rewritten or dropped together with the
checkpoints above them, within the allowed delay (`stale_after`) of now. Checkpoints kept
outside the hub bound that: partners receive the latest one with every delivery, and
`expect` (`hub audit verify --expect SEQ:HASH`) checks the chain against them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import JSON, String, column, select, table
from sqlalchemy.orm import Session

from hub.audit.chain import BATCH, GENESIS_HASH, Break, Reason, head_break, walk
from hub.audit.checkpoints import (
    LinkState,
    entry_match_break,
    link_break,
    signature_break,
    with_entry_hashes,
)
from hub.audit.models import AuditEntry, AuditHead
from hub.audit.signing import key_id_for
from hub.clock import utcnow
from hub.db.base import UTCDateTime

# The accounting of disclosures, read as a plain table: shared infrastructure imports no domain.
# Every row names its audit entry (`audit_seq`); these columns must say what that entry says.
# `payload_sha256` is left out: erasure may re-key or clear a hash that outlives the case,
# and the entry keeps the hash as it was disclosed.
_DISCLOSURES = table(
    "disclosures",
    column("id", String),
    column("case_id", String),
    column("recipient_organization_id", String),
    column("categories", JSON),
    column("consent_ids", JSON),
    column("referral_id", String),
    column("transfer_id", String),
    column("decision_id", String),
    column("channel", String),
    column("audit_seq"),
    column("at", UTCDateTime()),
)
_COMPARED = (
    "case_id",
    "recipient_organization_id",
    "categories",
    "consent_ids",
    "referral_id",
    "transfer_id",
    "decision_id",
    "channel",
)
_EXPECT = re.compile(r"^(\d+):([0-9a-f]{64})$")


@dataclass(frozen=True)
class Expectation:
    """A checkpoint kept outside the hub: the entry at `seq` has hash `hash`."""

    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Expectation:
        match = _EXPECT.match(text.strip().lower())
        if match is None:
            raise ValueError(f"{text!r} is not SEQ:HASH (a sequence number and 64 hex digits)")
        return cls(int(match[1]), match[2])


@dataclass(frozen=True)
class VerifyReport:
    entries: int  # entries checked (up to the break, if any)
    checkpoints: int  # checkpoints checked (up to the break, if any)
    head_seq: int | None
    # highest sequence number a valid signed checkpoint vouches for
    checkpointed_seq: int | None
    disclosures: int = 0  # disclosure rows checked against their entries
    expectations: int = 0  # outside checkpoints checked
    first_broken_seq: int | None = None
    reason: Reason | None = None
    detail: str | None = None
    checkpoint_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, **asdict(self)}


def verify(
    *,
    db: Session,
    public_keys: Iterable[Ed25519PublicKey],
    expect: Sequence[Expectation] = (),
    stale_after: timedelta | None = None,
    now: datetime | None = None,
) -> VerifyReport:
    """Check every entry, the head row, the chain of checkpoints, the disclosure log, the
    given outside checkpoints and (with `stale_after`) that no entry has waited longer than
    that for a signed checkpoint; name the first break.

    Give it a session that has not queried yet: on PostgreSQL it reads from one REPEATABLE
    READ snapshot, so appends made meanwhile do not look like a truncated tail. (SQLite's
    write lock, taken at BEGIN by this hub's engine, already keeps appends out.)
    """
    if db.get_bind().dialect.name == "postgresql":
        db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    keys = {key_id_for(k): k for k in public_keys}
    walked = walk(db, after_seq=None, after_hash=GENESIS_HASH)
    head = db.get(AuditHead, 1)
    head_brk = None if walked.brk else head_break(head, walked)
    limit = min((b.seq for b in (walked.brk, head_brk) if b), default=None)

    checked = 0
    checkpointed: int | None = None
    cp_brk: Break | None = None
    link = LinkState()
    for cp, stored_hash in with_entry_hashes(db):
        if limit is not None and cp.seq >= limit:
            break  # nothing here can come before the break already found
        checked += 1
        # the signature first: an unsigned claim says nothing about which entries should exist
        cp_brk = (
            signature_break(cp, keys)
            or link_break(cp, link)
            or entry_match_break(cp, stored_hash, chain_end=walked.last_seq)
        )
        if cp_brk is not None:
            break
        checkpointed = cp.seq

    disclosures, disc_brk = _disclosures_break(db)
    exp_brk = _expectation_break(db, expect)
    stale_brk = None
    if stale_after is not None:
        stale_brk = _stale_break(
            db, covered=checkpointed or 0, stale_after=stale_after, now=now or utcnow()
        )

    breaks = (walked.brk, head_brk, cp_brk, disc_brk, exp_brk, stale_brk)
    first = min((b for b in breaks if b), key=lambda b: b.seq, default=None)
    return VerifyReport(
        entries=walked.count,
        checkpoints=checked,
        head_seq=head.seq if head is not None else None,
        checkpointed_seq=checkpointed,
        disclosures=disclosures,
        expectations=len(expect),
        first_broken_seq=first.seq if first else None,
        reason=first.reason if first else None,
        detail=first.detail if first else None,
        checkpoint_id=first.checkpoint_id if first else None,
    )


def _disclosures_break(db: Session) -> tuple[int, Break | None]:
    """Every disclosure row's audit entry exists and records that very disclosure."""
    d = _DISCLOSURES
    rows = db.execute(
        select(d, AuditEntry.action, AuditEntry.object_id, AuditEntry.details, AuditEntry.at)
        .outerjoin(AuditEntry, AuditEntry.seq == d.c.audit_seq)
        .order_by(d.c.audit_seq)
        .execution_options(yield_per=BATCH)
    )
    count = 0
    found: Break | None = None
    try:
        for row in rows:
            count += 1
            m = row._mapping
            seq = m["audit_seq"]
            if m["action"] is None:
                found = Break(
                    seq, Reason.DISCLOSURE_MISMATCH, f"disclosure {m['id']}'s audit entry is gone"
                )
            elif (
                m["action"] != "disclosure"
                or m[AuditEntry.object_id] != m[d.c.id]
                or m[AuditEntry.at] != m[d.c.at]
                or any(m["details"].get(name) != m[d.c[name]] for name in _COMPARED)
            ):
                found = Break(
                    seq,
                    Reason.DISCLOSURE_MISMATCH,
                    f"disclosure {m['id']} does not match its audit entry {seq}",
                )
            if found is not None:
                break
    finally:
        rows.close()
    return count, found


def _expectation_break(db: Session, expect: Sequence[Expectation]) -> Break | None:
    found: list[Break] = []
    for exp in expect:
        stored = db.execute(select(AuditEntry.hash).where(AuditEntry.seq == exp.seq)).scalar()
        if stored != exp.hash:
            what = "has no such entry" if stored is None else "has another hash there"
            found.append(
                Break(
                    exp.seq,
                    Reason.EXPECTATION_MISMATCH,
                    f"the checkpoint kept outside names entry {exp.seq} with hash "
                    f"{exp.hash[:16]}...; the chain {what}",
                )
            )
    return min(found, key=lambda b: b.seq, default=None)


def _stale_break(
    db: Session, *, covered: int, stale_after: timedelta, now: datetime
) -> Break | None:
    """The first entry no valid checkpoint covers must not be older than `stale_after`."""
    first = db.get(AuditEntry, covered + 1)
    if first is None or first.at >= now - stale_after:
        return None
    return Break(
        first.seq,
        Reason.CHECKPOINT_STALE,
        f"entries from {first.seq} (since {first.at.isoformat()}) have had no signed checkpoint "
        f"for more than {stale_after}: checkpoints are missing",
    )
