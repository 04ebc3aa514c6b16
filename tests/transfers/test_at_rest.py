"""A transfer plan, a rejection reason and the beneficiary's name are nowhere in clear: not in
the database files, not in a dump, not in the logs, not in POST answers or problem documents.
Each test also finds a control value stored in clear by design (the case's external reference)
in the same place, so it is known to be looking where the data would be."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support import at_rest
from tests.support.outbox_drain import drain
from tests.support.transfer_world import (
    CANARY_CONTACT,
    CANARY_NAME,
    CANARY_PLAN,
    World,
    make_world,
)

REJECT_REASON = "Canary: Ptolemea Grisonde's brother works here"
CONTROL = "MRRM-NE-CONTROL-8841"  # an external reference: stored in clear on purpose
CANARIES = (CANARY_NAME, CANARY_PLAN, CANARY_CONTACT, REJECT_REASON)


def assert_absent(blob: bytes, where: str) -> None:
    at_rest.assert_absent(blob, where, CANARIES)


def lifecycle(world: World) -> list[bytes]:
    """Propose, read, reject, be refused, propose again, accept, withdraw; returns the POST
    answers and problem documents given."""
    case_id = world.case(external_ref=CONTROL)
    consent = world.consent(case_id)
    answers = []
    first = world.propose(case_id)
    assert first.status_code == 201, first.text
    transfer_id = first.json()["id"]
    assert world.get(transfer_id, world.ngo).json()["plan"]["reason"] == CANARY_PLAN
    rejected = world.act(transfer_id, "reject", world.ngo, {"reason": REJECT_REASON})
    assert rejected.status_code == 200
    assert world.events(transfer_id, world.sender)[-1]["text"] == REJECT_REASON
    answers += [first.content, rejected.content]
    for response in (
        world.propose(case_id, world.outsider),  # denied: no agreement
        world.act(transfer_id, "reject", world.ngo, {"reason": REJECT_REASON}),  # 409
        world.propose(case_id, reason=""),  # invalid plan
        world.propose(case_id, open_needs=[CANARY_NAME * 30]),  # an open need too long
        world.get(transfer_id, world.outsider),  # 404
    ):
        assert response.status_code >= 400
        answers.append(response.content)
    second = world.propose(case_id)
    accepted = world.act(second.json()["id"], "accept", world.ngo)
    assert accepted.status_code == 200, accepted.text
    answers += [second.content, accepted.content]
    world.api.post(
        f"/v1/consents/{consent['id']}/withdraw",
        json={"method": "verbal"},
        headers=world.ngo.headers,
    )
    drain(world.runtime)
    return answers


def test_absent_from_answers_and_the_sqlite_files(runtime: Runtime, api: TestClient) -> None:
    answers = lifecycle(make_world(runtime, api))
    for i, body in enumerate(answers):
        assert_absent(body, f"answer {i}")
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
    assert CONTROL.encode() in dump and b"COPY public.transfers" in dump
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
