"""Personal data written into a case is nowhere in clear: not in the database files, not in a
database dump, not in the logs. Each test also finds a plaintext control value in the same
place, so it is known to be looking where the data would be."""

import logging

import pytest

from hub.cases import service as cases
from hub.runtime import Runtime
from tests.cases.conftest import Orgs, new_case
from tests.support import at_rest, factories

CANARY = "Zelphinora Quixbeck"
CANARY_ACCENTED = "Aïchatou Wrenfeld-Ngozi"
CONTROL = "Control Org Marker 7731"  # an organisation name: stored in clear on purpose


def assert_absent(blob: bytes, where: str) -> None:
    at_rest.assert_absent(blob, where, (CANARY, CANARY_ACCENTED))


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
    files = at_rest.sqlite_files(runtime.settings)
    # WAL mode: recent commits sit in the -wal file
    assert any(p.name.endswith("-wal") for p in files)
    blob = b"".join(p.read_bytes() for p in files)
    assert CONTROL.encode() in blob
    for p in files:
        assert_absent(p.read_bytes(), p.name)


def test_canary_is_absent_from_a_postgresql_dump(runtime: Runtime, orgs: Orgs) -> None:
    if runtime.settings.is_sqlite:
        pytest.skip("needs PostgreSQL (HUB_TEST_DATABASE_URL)")
    lifecycle(runtime, orgs)
    dump = at_rest.pg_dump(runtime.settings)
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
    text = at_rest.records_text(caplog)
    assert CONTROL.encode() in text
    assert_absent(text, "the logs")
    assert_absent(caplog.text.encode(), "the formatted logs")
