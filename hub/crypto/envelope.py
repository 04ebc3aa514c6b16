"""Envelope encryption: AES-256-GCM data keys, one per owner (a case), wrapped by a KEK.

A field ciphertext is `format byte || 12-byte nonce || ciphertext+tag`. Its associated data
binds the table, row and field it belongs to, so a ciphertext copied to another row or field
does not open. A wrapped data key is bound the same way to its owner and KEK version.

Digests of an owner's data (what was disclosed, a snapshot, a consent form) are keyed: an
HMAC-SHA256 under a hash key derived from the owner's data key. Shredding the data key makes
them as opaque as the ciphertexts; an unsalted SHA-256 of a short value (a phone number) would
be reversed by trying candidates.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FIELD_FORMAT = 1
WRAP_FORMAT = 1
NONCE_BYTES = 12
TAG_BYTES = 16
DATA_KEY_BYTES = 32


class CiphertextInvalid(Exception):
    """A ciphertext did not authenticate: altered, moved, or under another key.

    The message names where it came from (table, row id, field), never any plaintext.
    """


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)


def _context(*parts: str) -> bytes:
    """Unambiguous associated data: each part length-prefixed, so ("ab","c") != ("a","bc")."""
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def _seal(key: bytes, fmt: int, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return bytes([fmt]) + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, fmt: int, blob: bytes, aad: bytes, where: str) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + TAG_BYTES or blob[0] != fmt:
        raise CiphertextInvalid(f"ciphertext is malformed for {where}")
    nonce = blob[1 : 1 + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        raise CiphertextInvalid(f"ciphertext does not authenticate for {where}") from None


def encrypt(data_key: bytes, plaintext: bytes, *, table: str, row: str, field: str) -> bytes:
    aad = _context("hub/field/v1", table, row, field)
    return _seal(data_key, FIELD_FORMAT, plaintext, aad)


def decrypt(data_key: bytes, ciphertext: bytes, *, table: str, row: str, field: str) -> bytes:
    aad = _context("hub/field/v1", table, row, field)
    return _open(data_key, FIELD_FORMAT, ciphertext, aad, f"{table}/{row}/{field}")


def encrypt_json(
    data_key: bytes, value: dict[str, Any], *, table: str, row: str, field: str
) -> bytes:
    plaintext = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return encrypt(data_key, plaintext.encode("utf-8"), table=table, row=row, field=field)


def decrypt_json(
    data_key: bytes, ciphertext: bytes, *, table: str, row: str, field: str
) -> dict[str, Any]:
    plaintext = decrypt(data_key, ciphertext, table=table, row=row, field=field)
    value = json.loads(plaintext)
    if not isinstance(value, dict):
        # authenticated, so written by the hub itself: a bug, but still not a dict to return
        raise CiphertextInvalid(f"ciphertext for {table}/{row}/{field} holds no JSON object")
    return value


def wrap_key(kek: bytes, data_key: bytes, *, owner: str, kek_version: int) -> bytes:
    aad = _context("hub/data-key/v1", owner, str(kek_version))
    return _seal(kek, WRAP_FORMAT, data_key, aad)


def unwrap_key(kek: bytes, wrapped: bytes, *, owner: str, kek_version: int) -> bytes:
    aad = _context("hub/data-key/v1", owner, str(kek_version))
    where = f"the data key of {owner} (key-encryption key version {kek_version})"
    return _open(kek, WRAP_FORMAT, wrapped, aad, where)


def hash_key(data_key: bytes) -> bytes:
    """The key of the owner's keyed digests: derived from its data key (HKDF-SHA256), so it
    is shredded with it, and never used to encrypt."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"hub/keyed-digest/v1"
    ).derive(data_key)


def keyed_digest(key: bytes, data: bytes) -> str:
    """HMAC-SHA256 of `data` under a `hash_key`, hex: 64 characters, like the SHA-256 it
    replaces, but useless without the key."""
    return hmac.new(key, data, "sha256").hexdigest()


def digest_matches(key: bytes, data: bytes, expected: str) -> bool:
    return hmac.compare_digest(keyed_digest(key, data), expected)
