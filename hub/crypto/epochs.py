"""KEK epochs: retiring every key-encryption key version but a new one, so erasure is final.

A shredded data key may live on in copies of the database made before the shredding: a
backup, a dump, a SQLite WAL, a PostgreSQL dead row version. Those copies are harmless only
once the KEK version that wrapped the key is destroyed. `retire` (run daily by
`hub keys retire`, see docs/security.md "Erasure") starts a new version, rewraps every live
data key under it, checks none is left behind, and only then destroys the older versions.

After it, no copy of the database made before the retirement opens with the keyring: restore
from a backup taken after the latest retirement. The keyring is never backed up with the
database (that would undo this).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from hub.crypto import service as keys
from hub.crypto.keyring import KeyEncryptionKeys, KeyringError, RetiresVersions


class NothingToRetireUnder(KeyringError):
    """An environment keyring whose current version wrapped a shredded key: a newer version
    must be added to HUB_KEK_KEYS before the current one can be retired."""


@dataclass(frozen=True)
class Retirement:
    current: int  # the version every live data key is wrapped under now
    added: bool  # a new version was made (the file keyring)
    rewrapped: int
    destroyed: list[int] = field(default_factory=list)  # versions gone from the keyring
    # versions the operator must remove from HUB_KEK_KEYS (environment keyring)
    to_remove: list[int] = field(default_factory=list)
    settled: int = 0  # erasures made final by this run
    pending: int = 0  # erasures still undone by a version the keyring holds

    @property
    def changed(self) -> bool:
        return self.added or bool(self.rewrapped or self.destroyed or self.settled)


def _versions(keyring: KeyEncryptionKeys) -> list[int]:
    versions = getattr(keyring, "versions", None)
    return list(versions()) if callable(versions) else [keyring.current_version]


def retire(*, sessions: sessionmaker[Session], keyring: KeyEncryptionKeys) -> Retirement:
    """Retire every KEK version but the current one (a new one for the file keyring).

    Each step is its own transaction: the rewrap is committed, and checked, before any key it
    replaces is destroyed, so a failure at any point strands no data key.
    """
    with sessions.begin() as db:
        pending = keys.pending_erasures(db=db)
    versions = _versions(keyring)
    added = False
    if isinstance(keyring, RetiresVersions):
        if pending or len(versions) > 1:
            keyring.add_version()
            added = True
    elif pending:
        with sessions.begin() as db:
            newest_shredded = keys.newest_shredded_version(db=db)
        if newest_shredded is not None and newest_shredded >= keyring.current_version:
            raise NothingToRetireUnder(
                f"a shredded data key was wrapped under key-encryption key version "
                f"{keyring.current_version}, the current one: add a newer version to "
                "HUB_KEK_KEYS, give it to every hub process, then run this again"
            )
    current = keyring.current_version
    with sessions.begin() as db:
        keys.lock_registry(db)
        rewrapped = keys.rewrap_all(db=db, keyring=keyring)
    with sessions.begin() as db:
        left = {v: n for v, n in keys.count_by_version(db=db).items() if v != current}
    if left:
        # a data key created under an older version while the rewrap ran: nothing destroyed
        raise KeyringError(
            f"data keys are still wrapped under versions {sorted(left)}: "
            "nothing was destroyed; run `hub keys retire` again"
        )
    destroyed: list[int] = []
    to_remove: list[int] = []
    if isinstance(keyring, RetiresVersions):
        destroyed = keyring.retire_below(current)
    else:
        to_remove = [v for v in versions if v < current]
    with sessions.begin() as db:
        settled = keys.settle(db=db, versions=_versions(keyring))
        still = keys.pending_erasures(db=db)
    return Retirement(
        current=current,
        added=added,
        rewrapped=rewrapped,
        destroyed=destroyed,
        to_remove=to_remove,
        settled=settled,
        pending=still,
    )
