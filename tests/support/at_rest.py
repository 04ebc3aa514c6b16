"""Looking for personal data where it would sit if it were stored in clear: the SQLite files, a
PostgreSQL dump, the log records. The at-rest tests of each domain bring their own canaries and
a control value stored in clear by design, so they know they look where the data would be."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import LargeBinary, MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

from hub.crypto.envelope import WRAP_FORMAT, CiphertextInvalid, decrypt, unwrap_key
from hub.settings import Settings


def forms(value: str) -> list[bytes]:
    """The ways a string could sit in a file, a dump or a log if it were stored unencrypted."""
    raw = value.encode()
    return [
        raw,
        value.encode("utf-16-le"),
        json.dumps(value).encode()[1:-1],  # JSON with \\u escapes
        raw.hex().encode(),  # PostgreSQL's bytea text form
    ]


def assert_absent(blob: bytes, where: str, canaries: Iterable[str]) -> None:
    for value in canaries:
        for form in forms(value):
            assert form not in blob, f"{value!r} found in clear in {where}"


def sqlite_files(settings: Settings) -> list[Path]:
    """The database file and its -wal and -shm companions, those that exist."""
    path = Path(make_url(settings.sqlalchemy_url).database or "")
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def pg_dump(settings: Settings) -> bytes:
    url = make_url(settings.sqlalchemy_url)
    return subprocess.run(
        [
            "/usr/bin/pg_dump",
            "--no-owner",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            url.database or "",
        ],
        capture_output=True,
        env={**os.environ, "PGPASSWORD": url.password or ""},
        timeout=60,
        check=True,
    ).stdout


def records_text(caplog: pytest.LogCaptureFixture) -> bytes:
    """Every log record with its message and all its fields (`extra` included)."""
    return "\n".join(f"{r.name} {r.getMessage()} {r.__dict__}" for r in caplog.records).encode()


# --- trying to recover an erased case with the keyring in hand ------------------------------

WRAPPED_KEY_BYTES = 1 + 12 + 32 + 16  # format byte, nonce, AES-256 key, GCM tag
BYTEA_HEX = re.compile(rb"\\\\x([0-9a-f]+)")
# the field names ciphertexts are bound to (hub.*.service constants), tried on every blob
FIELDS = (
    "subject",
    "snapshot",
    "note",
    "justification",
    "text",
    "caregiver",
    "reason",
    "file",
    "identity",
    "contact",
    "psychosocial",
    "health",
    "household",
    "legal_status",
)


@dataclass
class StorageCopy:
    """A copy of the hub's storage as someone who took it holds it: raw bytes (the SQLite
    files, WAL included, or a pg_dump), and how to read it as a database."""

    where: str
    raw: bytes
    url: str  # a database made from the copy alone


def copy_storage(settings: Settings, where: str, folder: Path) -> StorageCopy:
    """SQLite: the .sqlite3 file with its -wal and -shm as they are now; PostgreSQL: a
    pg_dump, restored into a database of its own to read it."""
    folder.mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        files = sqlite_files(settings)
        raw = b"".join(p.read_bytes() for p in files)
        base = Path(make_url(settings.sqlalchemy_url).database or "")
        for p in files:
            shutil.copyfile(p, folder / p.name.replace(base.name, "copy.sqlite3"))
        return StorageCopy(where, raw, f"sqlite:///{folder / 'copy.sqlite3'}")
    dump = pg_dump(settings)
    url = make_url(settings.sqlalchemy_url)
    name = f"hub_copy_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    subprocess.run(
        [
            "/usr/bin/psql",
            "-q",
            "-v",
            "ON_ERROR_STOP=0",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "-d",
            name,
        ],
        input=dump,
        capture_output=True,
        env={**os.environ, "PGPASSWORD": url.password or ""},
        timeout=120,
        check=True,
    )
    return StorageCopy(where, dump, url.set(database=name).render_as_string(hide_password=False))


def drop_copy(copy: StorageCopy) -> None:
    url = make_url(copy.url)
    if url.get_backend_name() != "postgresql":
        return
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def _blobs(raw: bytes) -> list[bytes]:
    """Every run of bytes a wrapped key could be: each offset of the raw files, and each
    bytea value of a dump decoded from its hex form."""
    found = [bytes.fromhex(m.group(1).decode()) for m in BYTEA_HEX.finditer(raw)]
    sources = [raw, *found]
    out = []
    for src in sources:
        start = src.find(bytes([WRAP_FORMAT]))
        while start != -1 and start + WRAPPED_KEY_BYTES <= len(src):
            out.append(src[start : start + WRAPPED_KEY_BYTES])
            start = src.find(bytes([WRAP_FORMAT]), start + 1)
    return out


def recover_data_keys(copy: StorageCopy, keks: Mapping[int, bytes], owner: str) -> set[bytes]:
    """Every data key of `owner` any wrapped key in the copy opens to, under any KEK given."""
    keys: set[bytes] = set()
    for blob in set(_blobs(copy.raw)):
        for version, kek in keks.items():
            try:
                keys.add(unwrap_key(kek, blob, owner=owner, kek_version=version))
            except CiphertextInvalid:
                continue
    return keys


def recover_plaintexts(copy: StorageCopy, data_keys: set[bytes]) -> list[str]:
    """Every ciphertext of the copy that opens under one of `data_keys`, as text: each blob
    column of each table, tried as bound to each id of its row and each field name."""
    if not data_keys:
        return []
    out: list[str] = []
    engine = create_engine(copy.url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                blobs = [c.name for c in table.columns if isinstance(c.type, LargeBinary)]
                if not blobs:
                    continue
                for row in conn.execute(select(table)).mappings():
                    ids = {v for v in row.values() if isinstance(v, str) and len(v) <= 64}
                    for column in blobs:
                        value = row[column]
                        if not value:
                            continue
                        out.extend(_open_any(bytes(value), data_keys, table.name, ids))
    finally:
        engine.dispose()
    return out


def _open_any(value: bytes, keys: set[bytes], table: str, ids: set[str]) -> list[str]:
    for key in keys:
        for row_id in ids:
            for field in FIELDS:
                try:
                    plain = decrypt(key, value, table=table, row=row_id, field=field)
                except CiphertextInvalid:
                    continue
                return [plain.decode("utf-8", "replace")]
    return []


def keyring_keks(keyring: object) -> dict[int, bytes]:
    """Every KEK version the keyring holds now, by version."""
    versions = keyring.versions()  # type: ignore[attr-defined]
    return {v: keyring.key(v) for v in versions}  # type: ignore[attr-defined]
