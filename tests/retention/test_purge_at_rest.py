"""A case purged by the retention is unreadable everywhere: a case with canaries in its data,
a referral's note, a closing note and a disclosure to a partner is closed, the clock moved past
its retention, and `hub retention run` purges it. Then no copy of the storage — the SQLite
files with their WAL, or on PostgreSQL a pg_dump (restored to be read) — gives any canary back
even to someone holding the keyring, nor do the raw bytes or the captured logs hold one in clear;
the case's id stays, in the cases table and the audit (`case.purged`), and `hub audit verify`
passes. The copy taken before the purge does give the canaries back (the test looks where they
are), until `hub keys retire` has run."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.cases.models import Case
from hub.cases.service import owner_for_case
from hub.clock import clock
from hub.policy.retention import Period
from hub.runtime import Runtime
from hub.settings import Settings
from tests.cli.test_keys import hub_in_process, one_json
from tests.retention.support import audit_of, closed_at
from tests.support import at_rest
from tests.support.referral_world import World

NAME = "Thessaly Quorvane"
PHONE = "+227 96 58 21 47"
NOTE = "Canary: Thessaly hides at the Tillabéri market"
CLOSING = "Canary: Thessaly went back to her aunt Marisol Vendrake"
CANARIES = (NAME, PHONE, NOTE, CLOSING)


def scenario(world: World) -> tuple[str, datetime]:
    """The case, its data read by the recipient (a disclosure), closed with a note."""
    case_id = world.case(
        {
            "identity": {"given_name": NAME, "family_name": "Quorvane"},
            "contact": {"phone": PHONE},
        }
    )
    world.consent(case_id, categories=["identity", "contact"])
    sent = world.refer(case_id, categories=["contact"], note=NOTE)
    assert sent.status_code == 201, sent.text
    referral_id = sent.json()["id"]
    read = world.get(referral_id, world.recipient)
    assert read.json()["payload"] == {"contact": {"phone": PHONE}}
    closed = world.api.post(
        f"/v1/cases/{case_id}/close",
        json={"reason": "goals_met", "note": CLOSING, "requests": {referral_id: "keep"}},
        headers=world.sender.headers,
    )
    assert closed.status_code == 200, closed.text
    return case_id, closed_at(world.runtime, case_id)


def recovered(copy: at_rest.StorageCopy, keks: dict[int, bytes], owner: str) -> set[str]:
    keys = at_rest.recover_data_keys(copy, keks, owner)
    texts = at_rest.recover_plaintexts(copy, keys)
    return {c for c in CANARIES if any(c in t for t in texts)}


def test_a_purged_case_is_unreadable_everywhere_and_the_audit_still_verifies(
    world: World, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    runtime: Runtime = world.runtime
    case_id, closed = scenario(world)
    owner = owner_for_case(case_id)
    copies = [at_rest.copy_storage(settings, "before the purge", tmp_path / "before")]
    outputs: list[str] = []
    try:
        keks_before = at_rest.keyring_keks(runtime.keyring)
        assert recovered(copies[0], keks_before, owner) == set(CANARIES)

        # the scheduler signs checkpoints as time goes by: one now, one after the purge
        assert one_json(hub_in_process(settings, "audit", "checkpoint", "--json"))["created"]
        # five years on (the policy's default), the scheduler's pass as an operator runs it
        clock.advance(Period(months=60).after(closed) - closed)
        dry = one_json(hub_in_process(settings, "retention", "run", "--dry-run", "--json"))
        assert [d["case_id"] for d in dry["due"]] == [case_id] and dry["purged"] == []
        done = one_json(hub_in_process(settings, "retention", "run", "--json"))
        assert done["purged"] == [case_id] and done["failed"] == []
        outputs += [str(dry), str(done)]

        copies.append(at_rest.copy_storage(settings, "after the purge", tmp_path / "after"))
        if settings.is_sqlite:
            # the live files hold no trace of the key even before the retirement
            assert recovered(copies[1], keks_before, owner) == set()
        retired = one_json(hub_in_process(settings, "keys", "retire", "--json"))
        assert retired["erasures_final"] == 1
        copies.append(at_rest.copy_storage(settings, "after retiring", tmp_path / "retired"))
        keks = at_rest.keyring_keks(runtime.keyring)
        for copy in copies:
            assert recovered(copy, keks, owner) == set(), copy.where
            at_rest.assert_absent(copy.raw, copy.where, CANARIES)

        # ids remain: the case's row, its audit entries; the chain verifies
        with runtime.sessions() as db:
            case = db.scalars(select(Case).where(Case.id == case_id)).one()
            assert case.erased_at is not None and case.status == "closed"
        purged = [e for e in audit_of(runtime, case_id) if e.action == "case.purged"]
        assert [e.details["reason"] for e in purged] == ["retention"]
        signed = one_json(hub_in_process(settings, "audit", "checkpoint", "--json"))
        assert signed["created"] is True
        verified = hub_in_process(settings, "audit", "verify", "--json")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert one_json(verified)["ok"] is True
        outputs += [verified.stdout, str(signed)]
    finally:
        for copy in copies:
            at_rest.drop_copy(copy)
    at_rest.assert_absent(at_rest.records_text(caplog), "the logs", CANARIES)
    at_rest.assert_absent("\n".join(outputs).encode(), "the commands' output", CANARIES)
