"""The hub's Ed25519 key that signs audit checkpoints.

Production gives it in `HUB_AUDIT_SIGNING_KEY` (PEM). The embedded default keeps it in
`audit_signing_key.pem` under `HUB_DATA_DIR`, created on first use with mode 0600. Only the
public key is needed to verify: `AuditKey.public_pem` is what an auditor is handed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.services import Services
from hub.settings import Settings

KEY_FILE = "audit_signing_key.pem"


class AuditServices(Services, Protocol):
    """The services of a hub that signs its audit checkpoints."""

    @property
    def audit_key(self) -> AuditKey: ...


class AuditKeyError(Exception):
    """The signing key cannot be used. Messages name files and variables, never key material."""


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key, so a checkpoint says which key signed it."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_key(pem: bytes, *, source: str = "public key") -> Ed25519PublicKey:
    """An auditor's copy of a public key (PEM), e.g. from `hub audit public-key`."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise AuditKeyError(f"{source}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"{source}: not an Ed25519 public key")
    return key


def verify_signature(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


class AuditKey:
    """The private key with its public half and id, computed once."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_for(self.public_key)
        self.public_pem = public_pem(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def __repr__(self) -> str:
        return f"AuditKey(key_id={self.key_id!r})"


def load_audit_key(settings: Settings) -> AuditKey:
    """The configured key, or the key file under the data folder (made on first use)."""
    if settings.audit_signing_key is not None:
        return AuditKey(
            _parse_private(
                settings.audit_signing_key.get_secret_value().encode(),
                source="HUB_AUDIT_SIGNING_KEY",
            )
        )
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    return AuditKey(_parse_private(_read_key_file(path), source=str(path)))


def _parse_private(pem: bytes, *, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        # TypeError: an encrypted PEM; the hub has no passphrase to give it
        raise AuditKeyError(f"{source}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{source}: not an Ed25519 private key")
    return key


def _read_key_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise AuditKeyError(f"{path}: cannot open the audit signing key ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        # judged on the open descriptor, so the file checked is the file read
        mode = stat.S_IMODE(os.fstat(fh.fileno()).st_mode)
        if mode & ~0o600:
            raise AuditKeyError(
                f"{path} has mode {mode:04o}, wider than 0600: refusing to use it. "
                "Others may have read the key and could forge checkpoints; find out who, "
                f"then `chmod 600 {path}` (or replace the key if in doubt)."
            )
        return fh.read()


def _create_key_file(path: Path) -> None:
    """Write a new key so that no reader ever sees a partial file or a wider mode.

    Written under a temporary name, then hard-linked into place: the link fails if another
    process got there first, and then its key is the one everybody uses.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
