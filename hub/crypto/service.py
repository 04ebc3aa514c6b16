"""The key registry: data keys wrapped under the keyring, one row per owner.

Deleting an owner's row is crypto-shredding: every ciphertext made with its key no longer
opens from the live database. Copies of the wrapped key made before (a backup, a SQLite WAL, a
PostgreSQL dead row version) still open with the keyring until the KEK version that wrapped it
is destroyed: `shred` writes the owner to a ledger, and `retire` (run daily by
`hub keys retire`) rewraps every live data key under a new version and destroys the others.
After that, nothing any copy holds opens: the erasure is final.

Digests of an owner's data are keyed with a hash key derived from its data key
(`owner_hash_key`), so they go with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from hub.clock import utcnow
from hub.crypto.envelope import hash_key, new_data_key, unwrap_key, wrap_key
from hub.crypto.keyring import KeyEncryptionKeys, KeyringError
from hub.crypto.models import DataKey, ShreddedKey
from hub.db.session import transaction_scoped

REWRAP_BATCH = 500
# `Session.info` key: the keyring (or a function giving it) the session's work uses
KEYRING_INFO = "hub.crypto.keyring"
# `transaction_scoped` name: the data keys the transaction unwrapped, by owner
UNWRAPPED_INFO = "hub.crypto.unwrapped"
# `transaction_scoped` name: key rows read with their owner and not yet unwrapped
LOADED_INFO = "hub.crypto.loaded"


class DataKeyMissing(Exception):
    """The owner has no data key: never created, or shredded (its data is erased)."""

    def __init__(self, owner: str) -> None:
        super().__init__(f"no data key for {owner}: never created, or erased (crypto-shredded)")
        self.owner = owner


def session_info(keyring: Callable[[], KeyEncryptionKeys]) -> dict[str, Any]:
    """What a sessionmaker gives each session so `bound_keyring` finds the hub's keyring (a
    function, so the keyring is loaded only when a session needs it)."""
    return {KEYRING_INFO: keyring}


def bound_keyring(db: Session) -> KeyEncryptionKeys:
    """The keyring of the session: the one its sessionmaker was given (`session_info`), or the
    one its work already used (`data_key`). For services whose signature predates keyed
    digests and sealed justifications."""
    found = db.info.get(KEYRING_INFO)
    if found is None:
        raise KeyringError("no keyring is bound to this session (see hub.crypto.service)")
    return found() if callable(found) else found  # type: ignore[no-any-return]


def data_key(*, db: Session, keyring: KeyEncryptionKeys, owner: str, create: bool = False) -> bytes:
    """The owner's plaintext data key; with `create`, made (and wrapped) if it has none.

    Read and unwrapped once per transaction: a request that seals and opens several things of
    one case asks for its key several times."""
    db.info.setdefault(KEYRING_INFO, keyring)
    known = _unwrapped(db)
    if owner in known:
        return known[owner]
    loaded = _loaded(db)
    row = loaded.pop(owner) if owner in loaded else db.get(DataKey, owner)
    if row is not None:
        key = unwrap_key(
            keyring.key(row.kek_version), row.wrapped_key, owner=owner, kek_version=row.kek_version
        )
        known[owner] = key
        return key
    if not create:
        raise DataKeyMissing(owner)
    key = new_data_key()
    version = keyring.current_version
    wrapped = wrap_key(keyring.key(version), key, owner=owner, kek_version=version)
    db.add(DataKey(owner=owner, kek_version=version, wrapped_key=wrapped))
    # flushed now so two creators of one owner collide here, before either encrypts data
    # under a key that would lose the race and be unreadable afterwards
    db.flush()
    known[owner] = key
    return key


class WrappedKey(Protocol):
    """What `data_key` reads of a key row: a `DataKey`, or a `LoadedKey`."""

    @property
    def kek_version(self) -> int: ...

    @property
    def wrapped_key(self) -> bytes: ...


class LoadedKey(NamedTuple):
    """The columns of a key row that open it, read with its owner (`keep_loaded`)."""

    kek_version: int
    wrapped_key: bytes


def keep_loaded(db: Session, owner: str, row: WrappedKey | None) -> None:
    """The owner's key row (None: it has none), read by the query that read the owner: the next
    `data_key` of this transaction uses it instead of reading it again."""
    _loaded(db)[owner] = row


# this transaction's key rows and unwrapped keys, by owner: a new transaction starts empty
# (another may have shredded or rotated a key since), and the keys go as it ends
def _loaded(db: Session) -> dict[str, WrappedKey | None]:
    return transaction_scoped(db, LOADED_INFO)


def _unwrapped(db: Session) -> dict[str, bytes]:
    return transaction_scoped(db, UNWRAPPED_INFO)


def owner_hash_key(*, db: Session, keyring: KeyEncryptionKeys, owner: str) -> bytes | None:
    """The key of the owner's keyed digests, or None once its data key is shredded."""
    try:
        return hash_key(data_key(db=db, keyring=keyring, owner=owner))
    except DataKeyMissing:
        return None


def shred(*, db: Session, owner: str) -> bool:
    """Delete the owner's data key; True if there was one.

    The owner goes on the ledger with the KEK version that wrapped its key: the erasure is
    final once `retire` has destroyed that version.
    """
    _unwrapped(db).pop(owner, None)
    _loaded(db).pop(owner, None)
    row = db.execute(
        delete(DataKey).where(DataKey.owner == owner).returning(DataKey.kek_version)
    ).first()
    if row is None:
        return False
    db.add(ShreddedKey(owner=owner, kek_version=row.kek_version, shredded_at=utcnow()))
    return True


def pending_erasures(*, db: Session) -> int:
    """How many shredded keys a copy made before their shredding could still open."""
    return db.scalar(select(func.count()).where(ShreddedKey.final_at.is_(None))) or 0


def newest_shredded_version(*, db: Session) -> int | None:
    """The newest KEK version that wrapped a key whose erasure is not final yet."""
    query = select(func.max(ShreddedKey.kek_version)).where(ShreddedKey.final_at.is_(None))
    return db.scalar(query)


def lock_registry(db: Session) -> None:
    """Keep new data keys out until the caller's transaction ends.

    A data key being created under a version about to be destroyed, in a transaction not yet
    committed, would otherwise be missed by the rewrap and stranded. On PostgreSQL the table
    lock waits for such a transaction; SQLite's write lock (BEGIN IMMEDIATE) already does.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("LOCK TABLE data_keys IN SHARE ROW EXCLUSIVE MODE"))


def settle(*, db: Session, versions: list[int]) -> int:
    """Mark final the erasures no KEK version in `versions` (those the keyring still holds)
    can undo: every version up to the one that wrapped the key is gone. Returns how many."""
    oldest = min(versions) if versions else None
    query = update(ShreddedKey).where(ShreddedKey.final_at.is_(None))
    if oldest is not None:
        query = query.where(ShreddedKey.kek_version < oldest)
    result = db.execute(query.values(final_at=utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


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
