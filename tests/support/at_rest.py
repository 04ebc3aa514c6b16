"""Looking for personal data where it would sit if it were stored in clear: the SQLite files, a
PostgreSQL dump, the log records. The at-rest tests of each domain bring their own canaries and
a control value stored in clear by design, so they know they look where the data would be."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

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
