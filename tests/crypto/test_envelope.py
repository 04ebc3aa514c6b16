import pytest

from hub.crypto.envelope import (
    CiphertextInvalid,
    decrypt,
    decrypt_json,
    encrypt,
    encrypt_json,
    new_data_key,
    unwrap_key,
    wrap_key,
)

PLAINTEXT = "Aïcha Moussa, née le 14 mars 2010".encode()
WHERE = {"table": "cases", "row": "c0ffee", "field": "subject"}


def test_round_trip() -> None:
    key = new_data_key()
    blob = encrypt(key, PLAINTEXT, **WHERE)
    assert decrypt(key, blob, **WHERE) == PLAINTEXT
    assert PLAINTEXT not in blob
    # a fresh nonce each time: equal plaintexts do not give equal ciphertexts
    assert encrypt(key, PLAINTEXT, **WHERE) != blob
    assert blob[0] == 1 and len(blob) == 1 + 12 + len(PLAINTEXT) + 16


def test_json_round_trip() -> None:
    key = new_data_key()
    value = {"given_name": "Aïcha", "family_name": "Moussa", "children": [1, 2]}
    blob = encrypt_json(key, value, **WHERE)
    assert decrypt_json(key, blob, **WHERE) == value


def test_every_single_byte_alteration_is_refused() -> None:
    key = new_data_key()
    blob = encrypt(key, PLAINTEXT, **WHERE)
    for i in range(len(blob)):
        altered = bytearray(blob)
        altered[i] ^= 0x01
        with pytest.raises(CiphertextInvalid) as info:
            decrypt(key, bytes(altered), **WHERE)
        assert "cases/c0ffee/subject" in str(info.value)
        assert "Aïcha" not in str(info.value)


def test_ciphertext_does_not_open_in_another_row_field_or_table() -> None:
    key = new_data_key()
    blob = encrypt(key, PLAINTEXT, **WHERE)
    for other in (
        {**WHERE, "row": "c0ffef"},
        {**WHERE, "field": "identity"},
        {**WHERE, "table": "case_data"},
        # the parts are length-prefixed: shifting a character between them is another place
        {"table": "cases", "row": "c0ffeesubjec", "field": "t"},
    ):
        with pytest.raises(CiphertextInvalid, match="does not authenticate for"):
            decrypt(key, blob, **other)


def test_wrong_key_truncated_and_unknown_format_are_refused() -> None:
    key = new_data_key()
    blob = encrypt(key, PLAINTEXT, **WHERE)
    with pytest.raises(CiphertextInvalid, match="does not authenticate"):
        decrypt(new_data_key(), blob, **WHERE)
    with pytest.raises(CiphertextInvalid, match="malformed for cases/c0ffee/subject"):
        decrypt(key, blob[:20], **WHERE)
    with pytest.raises(CiphertextInvalid, match="malformed"):
        decrypt(key, b"\x02" + blob[1:], **WHERE)
    with pytest.raises(CiphertextInvalid, match="malformed"):
        decrypt(key, b"", **WHERE)


def test_wrapped_key_is_bound_to_owner_and_kek_version() -> None:
    kek, data_key = new_data_key(), new_data_key()
    wrapped = wrap_key(kek, data_key, owner="case:a", kek_version=3)
    assert data_key not in wrapped
    assert unwrap_key(kek, wrapped, owner="case:a", kek_version=3) == data_key
    with pytest.raises(CiphertextInvalid, match="case:b"):
        unwrap_key(kek, wrapped, owner="case:b", kek_version=3)
    with pytest.raises(CiphertextInvalid, match="version 4"):
        unwrap_key(kek, wrapped, owner="case:a", kek_version=4)
    with pytest.raises(CiphertextInvalid):
        unwrap_key(new_data_key(), wrapped, owner="case:a", kek_version=3)


def test_decrypt_json_refuses_what_is_not_an_object() -> None:
    key = new_data_key()
    blob = encrypt(key, b"[1, 2]", **WHERE)
    with pytest.raises(CiphertextInvalid, match="no JSON object"):
        decrypt_json(key, blob, **WHERE)
