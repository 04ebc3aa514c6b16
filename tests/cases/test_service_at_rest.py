"""Personal data written into a case is nowhere in clear: not in the database files, not in a
database dump, not in the logs. Each test also finds a plaintext control value in the same
place, so it is known to be looking where the data would be."""

import json
import logging
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from hub.cases import service as cases
from hub.runtime import Runtime
from tests.cases.conftest import Orgs, new_case
from tests.support import factories

CANARY = "Zelphinora Quixbeck"
CANARY_ACCENTED = "Aïchatou Wrenfeld-Ngozi"
CONTROL = "Control Org Marker 7731"  # an organisation name: stored in clear on purpose


def forms(value: str) -> list[bytes]:
    """The ways a string could sit in a file or dump if it were stored unencrypted."""
    raw = value.encode()
    return [
        raw,
        value.encode("utf-16-le"),
        json.dumps(value).encode()[1:-1],  # JSON with \\u escapes
        raw.hex().encode(),  # PostgreSQL's bytea text form
    ]


def assert_absent(blob: bytes, where: str) -> None:
    for value in (CANARY, CANARY_ACCENTED):
        for form in forms(value):
            assert form not in blob, f"{value!r} found in clear in {where}"


def lifecycle(runtime: Runtime, orgs: Orgs) -> str:
    """Create, read and update a case carrying the canaries; returns its id."""
    case = new_case(
        runtime,
        orgs.owner,
        identity={"given_name": CANARY, "family_name": CANARY_ACCENTED},
        psychosocial={"notes": f"{CANARY} attends weekly"},
    )
    with runtime.sessions.begin() as db:
        found = cases.get(db=db, case_id=case.id, organization_id=orgs.owner)
        assert cases.read(db=db, keyring=runtime.keyring, case=found).data["identity"] == {
            "given_name": CANARY,
            "family_name": CANARY_ACCENTED,
        }
        cases.update_data(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor="user:caseworker",
            case=found,
            data={"contact": {"note": f"ask for {CANARY_ACCENTED}"}},
        )
        factories.org(db, runtime.policy, CONTROL)
    return case.id


def test_canary_is_absent_from_the_sqlite_files(runtime: Runtime, orgs: Orgs) -> None:
    if not runtime.settings.is_sqlite:
        pytest.skip("raw database files are checked on SQLite; PostgreSQL has the dump test")
    lifecycle(runtime, orgs)
    path = Path(make_url(runtime.settings.sqlalchemy_url).database or "")
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    assert Path(f"{path}-wal") in files  # WAL mode: recent commits sit in the -wal file
    blob = b"".join(p.read_bytes() for p in files)
    assert CONTROL.encode() in blob
    for p in files:
        assert_absent(p.read_bytes(), p.name)


def test_canary_is_absent_from_a_postgresql_dump(runtime: Runtime, orgs: Orgs) -> None:
    if runtime.settings.is_sqlite:
        pytest.skip("needs PostgreSQL (HUB_TEST_DATABASE_URL)")
    lifecycle(runtime, orgs)
    url = make_url(runtime.settings.sqlalchemy_url)
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    dump = subprocess.run(
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
        env=env,
        timeout=60,
        check=True,
    ).stdout
    assert CONTROL.encode() in dump and b"COPY public.case_data" in dump
    assert_absent(dump, "pg_dump")


def test_canary_is_absent_from_the_logs(
    runtime: Runtime, orgs: Orgs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQL statements and their parameters too: what the database is sent is in the logs
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    case_id = lifecycle(runtime, orgs)
    with runtime.sessions.begin() as db:
        found = cases.get(db=db, case_id=case_id, organization_id=orgs.owner)
        cases.erase(db=db, actor="user:officer", case=found)
    text = "\n".join(f"{r.name} {r.getMessage()} {r.__dict__}" for r in caplog.records).encode()
    assert CONTROL.encode() in text
    assert_absent(text, "the logs")
    assert_absent(caplog.text.encode(), "the formatted logs")
