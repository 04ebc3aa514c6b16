"""Key-encryption keys (KEKs): versioned AES-256 keys that wrap the per-case data keys.

Two providers sit behind `KeyEncryptionKeys`, and a KMS can be a third later:
- `FileKeyring`, the embedded default: `keyring.json` under `HUB_DATA_DIR`, mode 0600;
- `EnvKeyring`, for production: `HUB_KEK_KEYS="1:base64key,2:base64key"`.
The highest version is current: it wraps new data keys. Older versions stay readable so data
keys wrapped under them still open until `hub keys rotate` rewraps them.

Retiring (`hub keys retire`, daily) is what makes erasure final: every live data key is
rewrapped under a new version, then every older version is destroyed. A wrapped data key of an
erased case, wherever a copy of it lies (a WAL, a dead row version, a backup), was wrapped under
a version that no longer exists. The file keyring destroys them itself; with `EnvKeyring` the
operator removes them from `HUB_KEK_KEYS`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.clock import utcnow
from hub.settings import Settings

KEY_BYTES = 32  # AES-256
KEYRING_FILE = "keyring.json"
FILE_FORMAT = 1


class KeyringError(Exception):
    """The key-encryption keys cannot be used. Messages name files and variables, never keys."""


class UnknownKeyVersion(KeyringError):
    """A data key was wrapped under a KEK version this keyring does not hold."""


@runtime_checkable
class KeyEncryptionKeys(Protocol):
    """What the envelope needs from a keyring; a KMS-backed provider implements the same."""

    @property
    def current_version(self) -> int: ...

    def key(self, version: int) -> bytes: ...


@runtime_checkable
class AddsVersions(KeyEncryptionKeys, Protocol):
    """A keyring that can mint a new version itself (the file one; not the environment)."""

    def add_version(self) -> int: ...


@runtime_checkable
class RetiresVersions(AddsVersions, Protocol):
    """A keyring that can destroy old versions itself (the file one; not the environment)."""

    def versions(self) -> list[int]: ...

    def retire_below(self, version: int) -> list[int]: ...


def new_kek() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    """What changes when the keyring file is replaced, rewritten or has its access changed."""
    return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns)


class FileKeyring:
    """Keys in a JSON file readable by the hub's user only.

    The file is re-read when it changes on disk, so a running server picks up a version that
    `hub keys rotate` added in another process (data keys rewrapped under it must still open).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[tuple[int, int, int, int], dict[int, bytes]] | None = None

    @property
    def current_version(self) -> int:
        return max(self._keys())

    def key(self, version: int) -> bytes:
        try:
            return self._keys()[version]
        except KeyError:
            raise UnknownKeyVersion(
                f"key-encryption key version {version} is not in {self.path}"
            ) from None

    def versions(self) -> list[int]:
        return sorted(self._keys())

    def add_version(self) -> int:
        with self._locked():
            keys = self._read() if self.path.exists() else {}
            version = max(keys, default=0) + 1
            keys[version] = new_kek()
            self._write(keys)
        return version

    def retire_below(self, version: int) -> list[int]:
        """Destroy every version below `version` (which must exist); returns those destroyed.

        The file is rewritten atomically: the old keys are gone from it, not marked. Copies
        of the file (a backup of the data folder) are the operator's to keep out of reach:
        the keyring is not to be backed up with the database.
        """
        with self._locked():
            keys = self._read()
            if version not in keys:
                raise UnknownKeyVersion(
                    f"key-encryption key version {version} is not in {self.path}"
                )
            gone = sorted(v for v in keys if v < version)
            if gone:
                self._write({v: k for v, k in keys.items() if v >= version})
        return gone

    def _keys(self) -> dict[int, bytes]:
        if self._cache is not None:
            # one stat, not an open: most calls find the file as it was last read (a rotation
            # in another process changes its inode, time or size, and it is read again; a
            # chmod or chown its ctime, and it is opened again, as the hub's user can or not)
            try:
                st = os.stat(self.path)
            except OSError:
                pass
            else:
                if _stamp(st) == self._cache[0]:
                    self._check_mode(st.st_mode)
                    return self._cache[1]
        if not self.path.exists():
            with self._locked():
                # another process may have created it while this one waited for the lock
                if not self.path.exists():
                    self._write({1: new_kek()})
        return self._read()

    def _read(self) -> dict[int, bytes]:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise KeyringError(f"{self.path}: cannot open the keyring ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as fh:
            # checked on the open descriptor, so the file judged is the file read
            st = os.fstat(fh.fileno())
            self._check_mode(st.st_mode)
            stamp = _stamp(st)
            if self._cache is not None and self._cache[0] == stamp:
                return self._cache[1]
            raw = fh.read()
        keys = self._parse(raw)
        self._cache = (stamp, keys)
        return keys

    def _check_mode(self, st_mode: int) -> None:
        mode = stat.S_IMODE(st_mode)
        if mode & ~0o600:
            raise KeyringError(
                f"{self.path} has mode {mode:04o}, wider than 0600: refusing to use it. "
                "Its keys may have been readable by others; find out who could read it, "
                f"then `chmod 600 {self.path}` (and rotate if in doubt)."
            )

    def _parse(self, raw: bytes) -> dict[int, bytes]:
        bad = KeyringError(f"{self.path}: not a valid hub keyring file")
        try:
            doc = json.loads(raw)
            if doc.get("format") != FILE_FORMAT or not doc.get("keys"):
                raise bad
            keys: dict[int, bytes] = {}
            for entry in doc["keys"]:
                version = entry["version"]
                key = base64.b64decode(entry["key"], validate=True)
                if type(version) is not int or version < 1 or version in keys:
                    raise bad
                if len(key) != KEY_BYTES:
                    raise bad
                keys[version] = key
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error):
            raise bad from None
        return keys

    def _write(self, keys: Mapping[int, bytes]) -> None:
        """Replace the file atomically; the new file is 0600 from its first byte."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        previous = self._raw_entries() if self.path.exists() else {}
        now = utcnow().isoformat(timespec="seconds")
        doc = {
            "format": FILE_FORMAT,
            "keys": [
                {
                    "version": v,
                    "key": base64.b64encode(keys[v]).decode(),
                    "created_at": previous.get(v, {}).get("created_at", now),
                }
                for v in sorted(keys)
            ],
        }
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        # the rename itself must survive a crash: a lost version would strand its data keys
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._cache = None

    def _raw_entries(self) -> dict[int, dict[str, Any]]:
        try:
            doc = json.loads(self.path.read_bytes())
            return {e["version"]: e for e in doc["keys"]}
        except (OSError, ValueError, TypeError, KeyError):
            return {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise creation and rotation across processes (two rotations must not race)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


class EnvKeyring:
    """Keys given by the environment; rotation means adding a version to `HUB_KEK_KEYS`."""

    def __init__(self, keys: Mapping[int, bytes]) -> None:
        if not keys:
            raise KeyringError("HUB_KEK_KEYS: no key-encryption key given")
        self._keys = dict(keys)

    @classmethod
    def parse(cls, value: str) -> EnvKeyring:
        """Parse `version:base64key,...`; errors say which entry, never echo key material."""
        keys: dict[int, bytes] = {}
        entries = [e.strip() for e in value.split(",") if e.strip()]
        for n, entry in enumerate(entries, start=1):
            version_text, sep, key_text = entry.partition(":")
            if not sep or not version_text.strip().isdigit():
                raise KeyringError(
                    f"HUB_KEK_KEYS: entry {n} is not `version:base64key` "
                    "(expected e.g. `1:<44 base64 characters>,2:...`)"
                )
            version = int(version_text)
            if version < 1:
                raise KeyringError(f"HUB_KEK_KEYS: entry {n}: versions start at 1")
            if version in keys:
                raise KeyringError(f"HUB_KEK_KEYS: version {version} is given twice")
            try:
                key = base64.b64decode(key_text.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise KeyringError(
                    f"HUB_KEK_KEYS: the key of version {version} is not valid base64"
                ) from None
            if len(key) != KEY_BYTES:
                raise KeyringError(
                    f"HUB_KEK_KEYS: the key of version {version} is {len(key)} bytes; "
                    f"AES-256 needs {KEY_BYTES}"
                )
            keys[version] = key
        return cls(keys)

    @property
    def current_version(self) -> int:
        return max(self._keys)

    def key(self, version: int) -> bytes:
        try:
            return self._keys[version]
        except KeyError:
            raise UnknownKeyVersion(
                f"key-encryption key version {version} is not in HUB_KEK_KEYS"
            ) from None

    def versions(self) -> list[int]:
        return sorted(self._keys)


def load_keyring(settings: Settings) -> KeyEncryptionKeys:
    if settings.kek_provider == "env":
        if settings.kek_keys is None:
            raise KeyringError("HUB_KEK_KEYS is required when HUB_KEK_PROVIDER=env")
        return EnvKeyring.parse(settings.kek_keys.get_secret_value())
    return FileKeyring(settings.data_dir / KEYRING_FILE)
