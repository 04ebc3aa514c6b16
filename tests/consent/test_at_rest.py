"""A caregiver's name, a withdrawal reason and a scanned form are nowhere in clear: not in the
database files, not in a dump, not in the logs. Each test also finds a plaintext control value
(the witness, stored in clear by design) in the same place, so it is known to be looking where
the data would be."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.consent.conftest import consent_body
from tests.support import at_rest
from tests.support.api import partner

CAREGIVER = "Zelphinora Quixbeck"
REASON = "Ouvrard-Brisemiche canary: she fears her cousin"
FORM_TEXT = "Signed: Yaoundina Plorvesk"
CONTROL = "witness-marker-5531"  # a staff id: stored in clear on purpose


def assert_absent(blob: bytes, where: str) -> None:
    at_rest.assert_absent(blob, where, (CAREGIVER, REASON, FORM_TEXT))


def lifecycle(runtime: Runtime, api: TestClient) -> None:
    """Record, read, supersede, attach evidence, withdraw and read again, all via the API;
    the POSTs with an Idempotency-Key, whose remembered answers must not hold the data."""
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    case = {
        "external_ref": "REF-1",
        "subject": {"birth_date": "2013-01-01", "sex": "male"},
        "data": {},
    }
    case_id = api.post("/v1/cases", json=case, headers=iom.headers).json()["id"]
    body = consent_body(
        given_by="caregiver",
        caregiver={"name": CAREGIVER, "relationship": "aunt"},
        child_assent=True,
        method="verbal",
        witness=CONTROL,
    )
    path = f"/v1/cases/{case_id}/consents"
    v1 = api.post(path, json=body, headers=iom.headers | {"Idempotency-Key": "k1"}).json()
    body["supersedes"] = v1["id"]
    created = api.post(path, json=body, headers=iom.headers | {"Idempotency-Key": "k2"})
    assert created.status_code == 201, created.text
    consent_id = created.json()["id"]
    form = b"%PDF-1.4\n(" + FORM_TEXT.encode() + b")\n%%EOF\n"
    stored = api.put(
        f"/v1/consents/{consent_id}/evidence",
        content=form,
        headers=iom.headers | {"content-type": "application/pdf"},
    )
    assert stored.status_code == 201, stored.text
    withdrawn = api.post(
        f"/v1/consents/{consent_id}/withdraw",
        json={"method": "verbal", "reason": REASON},
        headers=iom.headers | {"Idempotency-Key": "k3"},
    )
    assert withdrawn.json()["withdrawal"]["reason"] == REASON
    read = api.get(f"/v1/cases/{case_id}/consents", headers=iom.headers).json()
    assert read["items"][0]["caregiver"]["name"] == CAREGIVER
    assert api.get(f"/v1/consents/{consent_id}/evidence", headers=iom.headers).content == form


def test_absent_from_the_sqlite_files(runtime: Runtime, api: TestClient) -> None:
    if not runtime.settings.is_sqlite:
        pytest.skip("raw database files are checked on SQLite; PostgreSQL has the dump test")
    lifecycle(runtime, api)
    files = at_rest.sqlite_files(runtime.settings)
    # WAL mode: recent commits sit in the -wal file
    assert any(p.name.endswith("-wal") for p in files)
    assert CONTROL.encode() in b"".join(p.read_bytes() for p in files)
    for p in files:
        assert_absent(p.read_bytes(), p.name)


def test_absent_from_a_postgresql_dump(runtime: Runtime, api: TestClient) -> None:
    if runtime.settings.is_sqlite:
        pytest.skip("needs PostgreSQL (HUB_TEST_DATABASE_URL)")
    lifecycle(runtime, api)
    dump = at_rest.pg_dump(runtime.settings)
    assert CONTROL.encode() in dump and b"COPY public.consent_evidence" in dump
    assert_absent(dump, "pg_dump")


def test_absent_from_the_logs(
    runtime: Runtime, api: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQL statements and their parameters too: what the database is sent is in the logs
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    lifecycle(runtime, api)
    text = at_rest.records_text(caplog)
    assert CONTROL.encode() in text
    assert_absent(text, "the logs")
    assert_absent(caplog.text.encode(), "the formatted logs")
