"""The key registry: data keys wrapped under the keyring, one row per owner.

Deleting an owner's row is crypto-shredding: every ciphertext made with its key, wherever a
copy of it lies (backups, replicas, outbox payloads), no longer opens.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.clock import utcnow
from hub.crypto.envelope import new_data_key, unwrap_key, wrap_key
from hub.crypto.keyring import KeyEncryptionKeys
from hub.crypto.models import DataKey

REWRAP_BATCH = 500


class DataKeyMissing(Exception):
    """The owner has no data key: never created, or shredded (its data is erased)."""

    def __init__(self, owner: str) -> None:
        super().__init__(f"no data key for {owner}: never created, or erased (crypto-shredded)")
        self.owner = owner


def data_key(*, db: Session, keyring: KeyEncryptionKeys, owner: str, create: bool = False) -> bytes:
    """The owner's plaintext data key; with `create`, made (and wrapped) if it has none."""
    row = db.get(DataKey, owner)
    if row is not None:
        return unwrap_key(
            keyring.key(row.kek_version), row.wrapped_key, owner=owner, kek_version=row.kek_version
        )
    if not create:
        raise DataKeyMissing(owner)
    key = new_data_key()
    version = keyring.current_version
    wrapped = wrap_key(keyring.key(version), key, owner=owner, kek_version=version)
    db.add(DataKey(owner=owner, kek_version=version, wrapped_key=wrapped))
    # flushed now so two creators of one owner collide here, before either encrypts data
    # under a key that would lose the race and be unreadable afterwards
    db.flush()
    return key


def shred(*, db: Session, owner: str) -> bool:
    """Delete the owner's data key; True if there was one."""
    result = db.execute(delete(DataKey).where(DataKey.owner == owner))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def rewrap_all(*, db: Session, keyring: KeyEncryptionKeys) -> int:
    """Rewrap every data key not under the current KEK version; data ciphertexts untouched.

    Returns how many were rewrapped. Rows are locked batch by batch, so an erase running at
    the same time waits rather than racing the update.
    """
    current = keyring.current_version
    new_kek = keyring.key(current)
    count = 0
    after = ""
    while True:
        batch = db.scalars(
            select(DataKey)
            .where(DataKey.kek_version != current, DataKey.owner > after)
            .order_by(DataKey.owner)
            .limit(REWRAP_BATCH)
            .with_for_update()
        ).all()
        if not batch:
            return count
        now = utcnow()
        for row in batch:
            key = unwrap_key(
                keyring.key(row.kek_version),
                row.wrapped_key,
                owner=row.owner,
                kek_version=row.kek_version,
            )
            row.wrapped_key = wrap_key(new_kek, key, owner=row.owner, kek_version=current)
            row.kek_version = current
            row.rewrapped_at = now
        after = batch[-1].owner
        count += len(batch)
        # written batch by batch so the session holds one batch of rows, not the registry
        db.flush()
        for row in batch:
            db.expunge(row)


def count_by_version(*, db: Session) -> dict[int, int]:
    """How many data keys each KEK version wraps (for operators after a rotation)."""
    rows = db.execute(select(DataKey.kek_version, func.count()).group_by(DataKey.kek_version)).all()
    return {int(version): int(n) for version, n in rows}
