"""Accounting for a disclosure takes its rows' locks before the audit chain's head, as every
other writer does: a new referral holds its case and appends at its commit, so a disclosure of
the same case made meanwhile waits for that referral instead of deadlocking with it.

PostgreSQL only: SQLite has no row locks (one writer at a time)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from hub.audit.service import record_now
from hub.cases import service as cases
from hub.disclosures import service as disclosures
from hub.referrals.models import Referral
from tests.support.referral_world import World

WAIT_SECONDS = 10.0


def _blocked_on_a_lock(world: World) -> int:
    with world.runtime.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def test_a_disclosure_waits_for_a_referral_of_its_case_without_a_deadlock(world: World) -> None:
    if world.runtime.settings.is_sqlite:
        pytest.skip("needs PostgreSQL (HUB_TEST_DATABASE_URL)")
    case_id = world.case()
    world.consent(case_id)
    referral_id = world.sent()
    sessions = world.runtime.sessions
    with sessions() as db:
        sent = db.get_one(Referral, referral_id)
        sent_case, recipient, decision = sent.case_id, sent.to_organization_id, sent.decision_id
    outcome: list[BaseException | str] = []

    def disclose() -> None:
        try:
            with sessions.begin() as db:
                disclosures.record(
                    db=db,
                    actor="test",
                    case_id=sent_case,
                    recipient_organization_id=recipient,
                    categories=["contact"],
                    consent_ids=[],
                    decision_id=decision,
                    channel="webhook",
                    payload_sha256="0" * 64,
                    referral_id=referral_id,
                    keyring=world.runtime.keyring,
                )
            outcome.append("recorded")
        except BaseException as exc:  # the deadlock, if the order is wrong
            outcome.append(exc)

    # a new referral of the same case, as `sending.create` holds it: the case locked first
    making = sessions.begin()
    db = making.__enter__()
    try:
        cases.open_for_requests(
            db=db, case_id=sent_case, organization_id=world.sender.organization_id
        )
        worker = threading.Thread(target=disclose)
        worker.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while _blocked_on_a_lock(world) < 1:  # the disclosure waits for the case
            assert time.monotonic() < deadline, "the disclosure never waited for the case"
            assert worker.is_alive(), outcome
            time.sleep(0.02)
        # then the referral's audit entry: the head must be free (the disclosure waits
        # before it), or PostgreSQL would detect a deadlock here or in the disclosure
        record_now(db, actor="test", action="referral.created", object_type="referral")
    finally:
        making.__exit__(None, None, None)
    worker.join(WAIT_SECONDS)
    assert outcome == ["recorded"]
