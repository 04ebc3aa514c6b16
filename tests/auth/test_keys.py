"""Signing keys: sealed at rest, named by thumbprint, rotated with a grace period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from joserfc.jwk import ECKey

from hub.auth.keys import (
    SigningKeys,
    create_signing_key,
    current_row,
    published_rows,
    rotate_signing_key,
)
from hub.auth.models import SigningKey
from hub.crypto.envelope import CiphertextInvalid
from hub.crypto.models import DataKey
from hub.runtime import Runtime


def test_the_private_key_is_sealed_and_the_kid_is_the_thumbprint(runtime: Runtime) -> None:
    keys = SigningKeys(keyring=runtime.keyring, token_seconds=900)
    with runtime.sessions.begin() as db:
        kid, private = keys.signing_key(db=db)
    with runtime.sessions() as db:
        row = db.get(SigningKey, kid)
        assert row is not None
        assert kid == private.thumbprint() == ECKey.import_key(row.public_jwk).thumbprint()
        assert "d" not in row.public_jwk
        d = private.as_dict(private=True)["d"]
        assert d.encode() not in row.private_ciphertext
        assert db.get(DataKey, f"signing_key:{kid}") is not None
    # a fresh process (no cache) opens the same key from the database
    with runtime.sessions.begin() as db:
        again_kid, again = SigningKeys(keyring=runtime.keyring, token_seconds=900).signing_key(
            db=db
        )
    assert again_kid == kid and again.as_dict(private=True)["d"] == d


def test_a_ciphertext_moved_to_another_key_does_not_open(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        first = create_signing_key(db=db, keyring=runtime.keyring)
        first_blob = first.private_ciphertext
        second = create_signing_key(db=db, keyring=runtime.keyring)
        second.private_ciphertext = first_blob
        second_kid = second.kid
    with runtime.sessions() as db, pytest.raises(CiphertextInvalid):
        SigningKeys(keyring=runtime.keyring, token_seconds=900).signing_key(db=db)
    assert second_kid


def test_rotation_retires_then_prunes_after_the_tokens_expire(
    runtime: Runtime, move_clock: Callable[[timedelta], None]
) -> None:
    keys = SigningKeys(keyring=runtime.keyring, token_seconds=900)
    with runtime.sessions.begin() as db:
        old_kid, _ = keys.signing_key(db=db)
    with runtime.sessions.begin() as db:
        new = rotate_signing_key(db=db, keyring=runtime.keyring, token_seconds=900)
        new_kid = new.kid
    with runtime.sessions.begin() as db:
        assert keys.signing_key(db=db)[0] == new_kid
        assert {r.kid for r in published_rows(db=db, token_seconds=900)} == {old_kid, new_kid}
        assert keys.verification_key(db=db, kid=old_kid) is not None
    move_clock(timedelta(seconds=900 + 61))
    with runtime.sessions.begin() as db:
        # past every token the old key could have signed: no longer served nor trusted
        assert [r.kid for r in published_rows(db=db, token_seconds=900)] == [new_kid]
        assert keys.verification_key(db=db, kid=old_kid) is None
        newest = rotate_signing_key(db=db, keyring=runtime.keyring, token_seconds=900)
    with runtime.sessions() as db:
        # the next rotation deletes it and shreds its data key
        assert db.get(SigningKey, old_kid) is None
        assert db.get(DataKey, f"signing_key:{old_kid}") is None
        assert db.get(SigningKey, new_kid) is not None
        current = current_row(db=db)
        assert current is not None and current.kid == newest.kid


def test_revoking_the_previous_key_drops_it_at_once(runtime: Runtime) -> None:
    keys = SigningKeys(keyring=runtime.keyring, token_seconds=900)
    with runtime.sessions.begin() as db:
        old_kid, _ = keys.signing_key(db=db)
    with runtime.sessions.begin() as db:
        rotate_signing_key(db=db, keyring=runtime.keyring, token_seconds=900, revoke_previous=True)
    with runtime.sessions() as db:
        assert db.get(SigningKey, old_kid) is None
        assert keys.verification_key(db=db, kid=old_kid) is None
