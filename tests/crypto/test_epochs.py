"""KEK epochs: `retire` rewraps every live data key under a new version and destroys the
others, so a copy of a shredded key made before (a backup, a WAL) no longer opens."""

import base64
import hashlib
import os

import pytest
from sqlalchemy import select

from hub.crypto import service
from hub.crypto.envelope import digest_matches, hash_key, keyed_digest, unwrap_key
from hub.crypto.epochs import NothingToRetireUnder, retire
from hub.crypto.keyring import EnvKeyring, FileKeyring, UnknownKeyVersion
from hub.crypto.models import DataKey, ShreddedKey
from hub.runtime import Runtime


def test_keyed_digest_is_no_sha256_and_needs_the_key() -> None:
    key = hash_key(os.urandom(32))
    data = b'{"phone":"+227 90 00 00 00"}'
    digest = keyed_digest(key, data)
    assert len(digest) == 64 and digest != hashlib.sha256(data).hexdigest()
    assert digest == keyed_digest(key, data) and digest_matches(key, data, digest)
    assert keyed_digest(hash_key(os.urandom(32)), data) != digest
    # derived, not the data key itself
    dk = os.urandom(32)
    assert hash_key(dk) != dk and hash_key(dk) == hash_key(dk)


def test_file_keyring_destroys_versions_below(tmp_path) -> None:  # type: ignore[no-untyped-def]
    keyring = FileKeyring(tmp_path / "keyring.json")
    keyring.current_version  # noqa: B018
    keyring.add_version()
    keyring.add_version()
    kept = keyring.key(3)
    assert keyring.retire_below(3) == [1, 2]
    fresh = FileKeyring(tmp_path / "keyring.json")
    assert fresh.versions() == [3] and fresh.key(3) == kept
    assert (tmp_path / "keyring.json").stat().st_mode & 0o777 == 0o600
    with pytest.raises(UnknownKeyVersion):
        fresh.key(1)
    assert keyring.retire_below(3) == []
    with pytest.raises(UnknownKeyVersion):
        keyring.retire_below(9)


def test_retire_makes_a_copy_of_a_shredded_key_useless(runtime: Runtime) -> None:
    keyring = runtime.keyring
    with runtime.sessions.begin() as db:
        gone = service.data_key(db=db, keyring=keyring, owner="case:gone", create=True)
        kept = service.data_key(db=db, keyring=keyring, owner="case:kept", create=True)
    with runtime.sessions() as db:
        backup = {r.owner: (r.kek_version, r.wrapped_key) for r in db.scalars(select(DataKey))}
    with runtime.sessions.begin() as db:
        assert service.shred(db=db, owner="case:gone")
        assert service.pending_erasures(db=db) == 1
    # the backup and the keyring together still give the shredded key back
    version, wrapped = backup["case:gone"]
    assert unwrap_key(keyring.key(version), wrapped, owner="case:gone", kek_version=1) == gone

    done = retire(sessions=runtime.sessions, keyring=keyring)
    assert (done.current, done.added, done.rewrapped, done.destroyed) == (2, True, 1, [1])
    assert (done.settled, done.pending) == (1, 0)
    with pytest.raises(UnknownKeyVersion):
        keyring.key(version)
    with runtime.sessions.begin() as db:
        assert service.data_key(db=db, keyring=keyring, owner="case:kept") == kept
        row = db.scalar(select(ShreddedKey))
        assert row is not None and row.owner == "case:gone" and row.final_at is not None
    # nothing pending, one version: nothing to do
    again = retire(sessions=runtime.sessions, keyring=keyring)
    assert not again.changed and again.current == 2


def test_retire_with_environment_keys_names_the_versions_to_remove(runtime: Runtime) -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    old = EnvKeyring({1: k1})
    with runtime.sessions.begin() as db:
        service.data_key(db=db, keyring=old, owner="case:gone", create=True)
        kept = service.data_key(db=db, keyring=old, owner="case:kept", create=True)
        service.shred(db=db, owner="case:gone")
    # the shredded key is wrapped under the current version: a newer one must come first
    with pytest.raises(NothingToRetireUnder, match="add a newer version"):
        retire(sessions=runtime.sessions, keyring=old)
    both = EnvKeyring.parse(f"1:{base64.b64encode(k1).decode()},2:{base64.b64encode(k2).decode()}")
    done = retire(sessions=runtime.sessions, keyring=both)
    assert (done.current, done.rewrapped, done.to_remove, done.destroyed) == (2, 1, [1], [])
    assert (done.settled, done.pending) == (0, 1)  # version 1 is still in HUB_KEK_KEYS
    only_new = EnvKeyring({2: k2})
    with runtime.sessions.begin() as db:
        assert service.data_key(db=db, keyring=only_new, owner="case:kept") == kept
    final = retire(sessions=runtime.sessions, keyring=only_new)
    assert (final.settled, final.pending, final.rewrapped) == (1, 0, 0)


def test_the_session_finds_the_keyring(runtime: Runtime) -> None:
    with runtime.sessions() as db:
        assert service.bound_keyring(db) is runtime.keyring
