import base64
import os

import pytest
from sqlalchemy import select

from hub.crypto import service
from hub.crypto.envelope import CiphertextInvalid
from hub.crypto.keyring import EnvKeyring, FileKeyring, UnknownKeyVersion
from hub.crypto.models import DataKey
from hub.crypto.service import DataKeyMissing, count_by_version, data_key, rewrap_all, shred
from hub.runtime import Runtime


def test_data_key_is_created_once_and_stored_wrapped(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        with pytest.raises(DataKeyMissing, match="case:one"):
            data_key(db=db, keyring=runtime.keyring, owner="case:one")
        key = data_key(db=db, keyring=runtime.keyring, owner="case:one", create=True)
        assert len(key) == 32
    with runtime.sessions.begin() as db:
        assert data_key(db=db, keyring=runtime.keyring, owner="case:one") == key
        assert data_key(db=db, keyring=runtime.keyring, owner="case:one", create=True) == key
        row = db.get(DataKey, "case:one")
        assert row is not None and row.kek_version == 1
        assert key not in row.wrapped_key


def test_shred_makes_the_key_unrecoverable(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        data_key(db=db, keyring=runtime.keyring, owner="case:gone", create=True)
        data_key(db=db, keyring=runtime.keyring, owner="case:kept", create=True)
    with runtime.sessions.begin() as db:
        data_key(db=db, keyring=runtime.keyring, owner="case:gone")  # loaded in the session
        assert shred(db=db, owner="case:gone") is True
        with pytest.raises(DataKeyMissing, match="crypto-shredded"):
            data_key(db=db, keyring=runtime.keyring, owner="case:gone")
    with runtime.sessions.begin() as db:
        assert shred(db=db, owner="case:gone") is False
        assert db.scalars(select(DataKey.owner)).all() == ["case:kept"]


def test_rotation_keeps_old_keys_readable_and_rewraps_them(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring = runtime.keyring
    assert isinstance(keyring, FileKeyring)
    owners = [f"case:{n}" for n in range(5)]
    with runtime.sessions.begin() as db:
        keys = {o: data_key(db=db, keyring=keyring, owner=o, create=True) for o in owners}
        wrapped_before = {r.owner: r.wrapped_key for r in db.scalars(select(DataKey))}
    assert keyring.add_version() == 2
    with runtime.sessions.begin() as db:
        # not yet rewrapped: still open under version 1
        assert all(data_key(db=db, keyring=keyring, owner=o) == k for o, k in keys.items())
        # new data keys are wrapped under the current version
        data_key(db=db, keyring=keyring, owner="case:new", create=True)
        assert count_by_version(db=db) == {1: 5, 2: 1}
    monkeypatch.setattr(service, "REWRAP_BATCH", 2)  # several batches
    with runtime.sessions.begin() as db:
        assert rewrap_all(db=db, keyring=keyring) == 5
    with runtime.sessions.begin() as db:
        rows = {r.owner: r for r in db.scalars(select(DataKey))}
        assert {r.kek_version for r in rows.values()} == {2}
        for owner in owners:
            assert rows[owner].rewrapped_at is not None
            assert rows[owner].wrapped_key != wrapped_before[owner]
            assert data_key(db=db, keyring=keyring, owner=owner) == keys[owner]
        assert rewrap_all(db=db, keyring=keyring) == 0


def test_a_key_under_a_version_the_keyring_lacks_is_a_clear_error(runtime: Runtime) -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    old = EnvKeyring({1: k1})
    with runtime.sessions.begin() as db:
        data_key(db=db, keyring=old, owner="case:x", create=True)
    with runtime.sessions() as db:
        with pytest.raises(UnknownKeyVersion, match="version 1"):
            data_key(db=db, keyring=EnvKeyring({2: k2}), owner="case:x")
        # the same version number with a different key does not open it either
        other = EnvKeyring.parse(f"1:{base64.b64encode(k2).decode()}")
        with pytest.raises(CiphertextInvalid, match="case:x"):
            data_key(db=db, keyring=other, owner="case:x")
