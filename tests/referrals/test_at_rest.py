"""A beneficiary's name, a referral's note and a decline reason are nowhere in clear: not in the
database files, not in a dump, not in the logs, not in problem documents. Each test also finds
a control value stored in clear by design (the case's external reference) in the same place,
so it is known to be looking where the data would be."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support import at_rest
from tests.support.outbox_drain import drain
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World, make_world

DECLINE_REASON = "Canary: Ptolemea Grisonde's brother works here"
CONTROL = "MRRM-NE-CONTROL-8841"  # an external reference: stored in clear on purpose


def assert_absent(blob: bytes, where: str) -> None:
    at_rest.assert_absent(blob, where, (CANARY_NAME, CANARY_NOTE, DECLINE_REASON))


def lifecycle(world: World) -> list[bytes]:
    """Refer, read, decline, be refused, withdraw; returns the problem documents answered."""
    api = world.api
    case = {
        "external_ref": CONTROL,
        "subject": {"birth_date": "1990-04-02", "sex": "female"},
        "data": {"identity": {"given_name": CANARY_NAME, "family_name": "Moussa"}},
    }
    case_id = api.post("/v1/cases", json=case, headers=world.sender.headers).json()["id"]
    consent = world.consent(case_id)
    problems = []
    referral = world.refer(case_id)
    assert referral.status_code == 201, referral.text
    referral_id = referral.json()["id"]
    read = world.get(referral_id, world.recipient).json()
    assert read["payload"]["identity"]["given_name"] == CANARY_NAME
    assert read["note"] == CANARY_NOTE
    declined = world.act(referral_id, "decline", world.recipient, {"reason": DECLINE_REASON})
    assert declined.status_code == 200
    events = api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert events.json()["items"][-1]["text"] == DECLINE_REASON
    for response in (
        world.refer(case_id, to_organization_id=world.outsider.organization_id),  # denied
        world.act(referral_id, "decline", world.recipient, {"reason": DECLINE_REASON}),  # 409
        world.refer(case_id, categories=["identity", CANARY_NAME]),  # unknown value
        world.get(referral_id, world.outsider),  # 404
    ):
        assert response.status_code >= 400
        problems.append(response.content)
    second = world.refer(case_id).json()["id"]
    world.get(second, world.recipient)
    world.withdraw(consent["id"])
    drain(world.runtime)
    assert world.get(second, world.sender).json()["status"] == "cancelled"
    return problems


def test_absent_from_problem_documents_and_the_sqlite_files(
    runtime: Runtime, api: TestClient
) -> None:
    problems = lifecycle(make_world(runtime, api))
    for i, body in enumerate(problems):
        assert_absent(body, f"problem document {i}")
    if not runtime.settings.is_sqlite:
        return
    files = at_rest.sqlite_files(runtime.settings)
    assert CONTROL.encode() in b"".join(p.read_bytes() for p in files)
    for p in files:
        assert_absent(p.read_bytes(), p.name)


def test_absent_from_a_postgresql_dump(runtime: Runtime, api: TestClient) -> None:
    if runtime.settings.is_sqlite:
        pytest.skip("needs PostgreSQL (HUB_TEST_DATABASE_URL)")
    lifecycle(make_world(runtime, api))
    dump = at_rest.pg_dump(runtime.settings)
    assert CONTROL.encode() in dump and b"COPY public.referrals" in dump
    assert_absent(dump, "pg_dump")


def test_absent_from_the_logs(
    runtime: Runtime, api: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(runtime, api)
    caplog.set_level(logging.DEBUG)
    # SQL statements and their parameters too: what the database is sent is in the logs
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    lifecycle(world)
    text = at_rest.records_text(caplog)
    assert CONTROL.encode() in text
    assert_absent(text, "the logs")
    assert_absent(caplog.text.encode(), "the formatted logs")
