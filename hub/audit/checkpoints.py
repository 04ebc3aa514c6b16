"""Signed checkpoints of the audit chain, chained to each other.

A checkpoint signs (sequence number, entry hash, time, key id) and the digest of the previous
checkpoint's signed message, so the checkpoints form a chain of their own: deleting, altering
or reordering one breaks the link of the next. Deleting the newest ones leaves no broken link;
`hub.audit.verify` then sees entries left without a checkpoint for too long ("stale"), and
copies kept outside the hub (`--expect`, partners' copies, the signer's witness file) see the
rest.

The signer keeps its own record of the last checkpoint it signed, beside its key and outside
the database (`Witness`): before signing again it checks the chain from there, so a chain
rewritten in the database together with its checkpoints is refused, not signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.chain import BATCH, GENESIS_HASH, Break, ChainBroken, Reason, head_break, walk
from hub.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from hub.audit.signing import AuditKey, verify_signature
from hub.clock import utcnow

# signatures over checkpoints mean nothing in any other context; v1 checkpoints (signed before
# they were chained) are still read, never written
CONTEXT_V1 = b"referral-hub audit checkpoint v1\n"
CONTEXT_V2 = b"referral-hub audit checkpoint v2\n"
GENESIS_DIGEST = "0" * 64
WITNESS_FILE = "audit_checkpoint_witness.json"


def checkpoint_message(
    *, seq: int, hash: str, at: datetime, key_id: str, prev_digest: str | None = None
) -> bytes:
    body: dict[str, object] = {
        "seq": seq,
        "hash": hash,
        "at": at.isoformat(timespec="microseconds"),
        "key_id": key_id,
    }
    if prev_digest is None:
        context = CONTEXT_V1
    else:
        context = CONTEXT_V2
        body["prev"] = prev_digest
    return context + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def message_of(cp: AuditCheckpoint) -> bytes:
    return checkpoint_message(
        seq=cp.seq, hash=cp.hash, at=cp.at, key_id=cp.key_id, prev_digest=cp.prev_digest
    )


def digest_of(cp: AuditCheckpoint) -> str:
    """What the next checkpoint signs: covers this one's seq, hash, time, key and its link."""
    return hashlib.sha256(message_of(cp)).hexdigest()


def signature_break(cp: AuditCheckpoint, keys: dict[str, Ed25519PublicKey]) -> Break | None:
    key = keys.get(cp.key_id)
    if key is None:
        return Break(
            cp.seq,
            Reason.CHECKPOINT_UNKNOWN_KEY,
            f"checkpoint {cp.id} is signed by key {cp.key_id}, which was not given",
            cp.id,
        )
    try:
        signature = base64.b64decode(cp.signature, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not verify_signature(key, signature, message_of(cp)):
        return Break(
            cp.seq,
            Reason.CHECKPOINT_BAD_SIGNATURE,
            f"checkpoint {cp.id} has an invalid signature",
            cp.id,
        )
    return None


@dataclass
class LinkState:
    """Where a walk along the checkpoints stands: the digest the next one must name."""

    digest: str = GENESIS_DIGEST
    chained: bool = False  # a v2 checkpoint was seen: no v1 one may follow


def link_break(cp: AuditCheckpoint, state: LinkState) -> Break | None:
    """Check `cp` follows the checkpoint before it, and move the state past it."""
    if cp.prev_digest is None:
        if state.chained:
            return Break(
                cp.seq,
                Reason.CHECKPOINT_CHAIN_BROKEN,
                f"checkpoint {cp.id} is unchained but follows chained checkpoints",
                cp.id,
            )
    elif cp.prev_digest != state.digest:
        return Break(
            cp.seq,
            Reason.CHECKPOINT_CHAIN_BROKEN,
            f"checkpoint {cp.id} does not follow the checkpoint before it "
            "(one was deleted, altered or reordered)",
            cp.id,
        )
    else:
        state.chained = True
    state.digest = digest_of(cp)
    return None


def entry_match_break(cp: AuditCheckpoint, stored_hash: str | None, chain_end: int) -> Break | None:
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


def with_entry_hashes(
    db: Session, *, from_seq: int = 0
) -> Iterator[tuple[AuditCheckpoint, str | None]]:
    """Checkpoints in order (from a sequence number on), each with its entry's stored hash."""
    rows = db.execute(
        select(AuditCheckpoint, AuditEntry.hash)
        .outerjoin(AuditEntry, AuditEntry.seq == AuditCheckpoint.seq)
        .where(AuditCheckpoint.seq >= from_seq)
        .order_by(AuditCheckpoint.seq, AuditCheckpoint.id)
        .execution_options(yield_per=BATCH)
    )
    try:
        yield from rows
    finally:
        rows.close()


@dataclass(frozen=True)
class Remembered:
    """The last checkpoint a signer made, as it keeps it outside the database."""

    seq: int
    hash: str
    at: str
    key_id: str
    digest: str


class Witness:
    """The signer's own record of its last checkpoint: a small file beside its key.

    Someone who owns the database but not the signer's data folder cannot move it. Written
    only after the checkpoint's transaction committed; an older record is still an ancestor
    of what is in the database, so a lost race between two signers costs nothing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_folder(cls, folder: Path) -> Witness:
        return cls(folder / WITNESS_FILE)

    def read(self) -> Remembered | None:
        try:
            raw = self.path.read_text()
        except FileNotFoundError:
            return None
        try:
            doc = json.loads(raw)
            return Remembered(**{k: doc[k] for k in ("seq", "hash", "at", "key_id", "digest")})
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{self.path}: not a checkpoint witness record") from None

    def write(self, cp: AuditCheckpoint) -> None:
        record = Remembered(
            seq=cp.seq,
            hash=cp.hash,
            at=cp.at.isoformat(),
            key_id=cp.key_id,
            digest=digest_of(cp),
        )
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(asdict(record), fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)


def checkpoint(
    *,
    db: Session,
    key: AuditKey,
    remembered: Remembered | None = None,
    stale_after: timedelta | None = None,
) -> AuditCheckpoint | None:
    """Sign the current head, in the caller's transaction; None when nothing new to sign.

    The chain is checked from the last good checkpoint first, and any break raises
    ChainBroken: a checkpoint must never vouch for tampering. The last good checkpoint is the
    signer's own record (`remembered`) when it has one, which must still be in the database;
    without it, the newest checkpoint the database holds, and then entries left unsigned for
    longer than `stale_after` are refused too (checkpoints may have been deleted).
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
    if remembered is None and (
        head.seq == 0 or (last is not None and (last.seq, last.hash) == (head.seq, head.hash))
    ):
        return None
    trusted, link = _walk_checkpoints(db, key=key, remembered=remembered)
    start_seq, start_hash = (trusted.seq, trusted.hash) if trusted else (0, GENESIS_HASH)
    walked = walk(db, after_seq=start_seq, after_hash=start_hash)
    brk = walked.brk or head_break(head, walked)
    if brk is not None:
        raise ChainBroken(brk)
    if remembered is None and stale_after is not None and head.seq > start_seq:
        first = db.get(AuditEntry, start_seq + 1)
        if first is not None and first.at < utcnow() - stale_after:
            raise ChainBroken(
                Break(
                    first.seq,
                    Reason.CHECKPOINT_STALE,
                    f"entries from {first.seq} (since {first.at.isoformat()}) have no signed "
                    "checkpoint: checkpoints may have been deleted",
                )
            )
    if head.seq == 0 or (last is not None and (last.seq, last.hash) == (head.seq, head.hash)):
        return None
    at = utcnow()
    prev_digest = link.digest
    message = checkpoint_message(
        seq=head.seq, hash=head.hash, at=at, key_id=key.key_id, prev_digest=prev_digest
    )
    cp = AuditCheckpoint(
        seq=head.seq,
        hash=head.hash,
        at=at,
        key_id=key.key_id,
        signature=base64.b64encode(key.sign(message)).decode(),
        prev_digest=prev_digest,
    )
    db.add(cp)
    # flushed so the caller gets the id to report, and a failure shows in its unit of work
    db.flush()
    return cp


def _walk_checkpoints(
    db: Session, *, key: AuditKey, remembered: Remembered | None
) -> tuple[AuditCheckpoint | None, LinkState]:
    """Follow the checkpoints from the signer's record (or the first) to the newest.

    Returns the newest checkpoint this key signed whose entry still holds (None: start from
    the first entry) and the link state the next checkpoint continues. Checkpoints by other
    keys (before a key change) are followed by their links but not trusted as a start.
    """
    keys = {key.key_id: key.public_key}
    link = LinkState()
    trusted: AuditCheckpoint | None = None
    checkpoints = with_entry_hashes(db, from_seq=remembered.seq if remembered else 0)
    if remembered is not None:
        for cp, stored_hash in checkpoints:
            if cp.seq == remembered.seq and digest_of(cp) == remembered.digest:
                brk = entry_match_break(cp, stored_hash, chain_end=cp.seq)
                if brk is not None:
                    raise ChainBroken(brk)
                link = LinkState(digest=remembered.digest, chained=cp.prev_digest is not None)
                trusted = cp
                break
        else:
            raise ChainBroken(
                Break(
                    remembered.seq,
                    Reason.CHECKPOINT_FORGOTTEN,
                    f"the checkpoint this signer made last (at entry {remembered.seq}, "
                    f"{remembered.at}) is no longer in the database",
                )
            )
    for cp, stored_hash in checkpoints:
        brk = link_break(cp, link)
        if brk is None and cp.key_id == key.key_id:
            brk = signature_break(cp, keys) or entry_match_break(cp, stored_hash, cp.seq)
            if brk is None:
                trusted = cp
        if brk is not None:
            raise ChainBroken(brk)
    return trusted, link
