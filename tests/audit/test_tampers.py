"""The review's tampers, by someone who owns the database (not the signing key, not the data
folder): each one is caught by `verify`, and the scheduled checkpoint refuses to sign over it."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from hub.audit.chain import ChainBroken, Reason
from hub.audit.models import AuditCheckpoint
from hub.audit.tasks import make_checkpoint, witness
from hub.audit.verify import Expectation
from hub.runtime import Runtime
from tests.audit.tamper import (
    build_chain,
    checkpoint_ids,
    delete_checkpoints,
    remove_and_renumber,
    rewrite_from,
    rows,
    sql,
    verify_now,
    wait_past_stale,
)
from tests.support.referral_world import make_world


def broken(runtime: Runtime, **kwargs: object) -> tuple[int | None, Reason | None]:
    report = verify_now(runtime, **kwargs)  # type: ignore[arg-type]
    return report.first_broken_seq, report.reason


def signed_chain(runtime: Runtime, n: int, every: int) -> None:
    """n entries with a scheduled checkpoint every `every` entries, as the worker makes them
    (so the signer's own record is kept)."""
    for start in range(0, n, every):
        build_chain(runtime, min(every, n - start))
        assert make_checkpoint(runtime) is not None


def test_middle_entry_rewritten_and_rechained_with_checkpoints_deleted(runtime: Runtime) -> None:
    build_chain(runtime, 12, checkpoints_at=[4, 8, 12])
    kept = rows(runtime, "seq = 12")[0]
    rewrite_from(runtime, 6, actor="client:0", details={"n": 6, "categories": []})
    delete_checkpoints(runtime)
    assert verify_now(runtime).ok  # soon after: the database alone cannot tell yet...
    # ...a partner's copy of the last checkpoint can
    assert broken(runtime, expect=[Expectation(12, kept.hash)]) == (
        12,
        Reason.EXPECTATION_MISMATCH,
    )
    # and once the entries are older than checkpoints may lag, the missing ones show
    wait_past_stale(runtime)
    assert broken(runtime) == (1, Reason.CHECKPOINT_STALE)


def test_two_entries_removed_and_renumbered_with_checkpoints_deleted(runtime: Runtime) -> None:
    build_chain(runtime, 10, checkpoints_at=[5, 10])
    kept = rows(runtime, "seq = 5")[0]
    remove_and_renumber(runtime, 3, 4)
    delete_checkpoints(runtime)
    assert [r.seq for r in rows(runtime)] == list(range(1, 9))
    assert broken(runtime, expect=[Expectation(5, kept.hash)]) == (5, Reason.EXPECTATION_MISMATCH)
    wait_past_stale(runtime)
    assert broken(runtime) == (1, Reason.CHECKPOINT_STALE)


@pytest.mark.parametrize(("deleted", "at"), [(0, 3), (1, 6), (2, 9)])
def test_a_deleted_checkpoint_is_caught(runtime: Runtime, deleted: int, at: int) -> None:
    build_chain(runtime, 12, checkpoints_at=[3, 6, 9, 12])
    delete_checkpoints(runtime, "id = :i", i=checkpoint_ids(runtime)[deleted])
    # the next checkpoint no longer names the one before it
    assert broken(runtime) == (at + 3, Reason.CHECKPOINT_CHAIN_BROKEN)


def test_the_newest_checkpoint_deleted_is_caught_once_stale(runtime: Runtime) -> None:
    build_chain(runtime, 12, checkpoints_at=[6, 12])
    delete_checkpoints(runtime, "seq = 12")
    wait_past_stale(runtime)
    report = verify_now(runtime)
    assert (report.first_broken_seq, report.reason) == (7, Reason.CHECKPOINT_STALE)
    assert report.checkpointed_seq == 6


def test_entries_waiting_long_for_a_checkpoint_are_stale_only_past_the_limit(
    runtime: Runtime,
) -> None:
    build_chain(runtime, 4, checkpoints_at=[4])
    build_chain(runtime, 2)
    assert verify_now(runtime).ok
    wait_past_stale(runtime)
    assert broken(runtime) == (5, Reason.CHECKPOINT_STALE)


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit_checkpoints SET signature = :forged WHERE seq = 6",
        "UPDATE audit_checkpoints SET prev_digest = NULL WHERE seq = 6",
        "UPDATE audit_checkpoints SET prev_digest = :zeros WHERE seq = 6",
    ],
)
def test_an_altered_checkpoint_fails_its_signature(runtime: Runtime, tamper: str) -> None:
    build_chain(runtime, 9, checkpoints_at=[3, 6, 9])
    forged = base64.b64encode(b"\x01" * 64).decode()
    sql(runtime, tamper, forged=forged, zeros="0" * 64)
    assert broken(runtime) == (6, Reason.CHECKPOINT_BAD_SIGNATURE)


def test_an_altered_checkpoint_time_fails_its_signature(runtime: Runtime) -> None:
    build_chain(runtime, 6, checkpoints_at=[3, 6])
    with runtime.engine.begin() as conn:
        table = AuditCheckpoint.__table__
        moved = datetime(2026, 1, 1, tzinfo=UTC)
        conn.execute(table.update().where(table.c.seq == 6).values(at=moved))
    assert broken(runtime) == (6, Reason.CHECKPOINT_BAD_SIGNATURE)


def test_an_altered_checkpoint_hash_fails_its_signature(runtime: Runtime) -> None:
    build_chain(runtime, 6, checkpoints_at=[3, 6])
    sql(runtime, "UPDATE audit_checkpoints SET hash = :h WHERE seq = 3", h="b" * 64)
    assert broken(runtime) == (3, Reason.CHECKPOINT_BAD_SIGNATURE)


def test_the_checkpoint_task_refuses_to_sign_a_rewritten_chain(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    signed_chain(runtime, 9, every=3)
    rewrite_from(runtime, 5, action="case.erased")
    delete_checkpoints(runtime)
    build_chain(runtime, 2)  # the hub goes on appending
    with caplog.at_level(logging.ERROR, logger="hub.audit"), pytest.raises(ChainBroken) as err:
        make_checkpoint(runtime)
    assert (err.value.brk.seq, err.value.brk.reason) == (9, Reason.CHECKPOINT_FORGOTTEN)
    refusals = [r for r in caplog.records if r.name == "hub.audit" and r.levelname == "ERROR"]
    assert refusals and refusals[-1].reason == Reason.CHECKPOINT_FORGOTTEN  # type: ignore[attr-defined]
    with runtime.sessions() as db:
        assert db.query(AuditCheckpoint).count() == 0


def test_the_checkpoint_task_refuses_a_rewrite_below_its_own_checkpoint(
    runtime: Runtime,
) -> None:
    signed_chain(runtime, 9, every=3)
    # the checkpoints are left in place; the chain under the last one is re-linked
    remove_and_renumber(runtime, 7, 8)
    build_chain(runtime, 3)
    with pytest.raises(ChainBroken) as err:
        make_checkpoint(runtime)
    assert (err.value.brk.seq, err.value.brk.reason) == (9, Reason.CHECKPOINT_MISMATCH)
    assert broken(runtime) == (9, Reason.CHECKPOINT_MISMATCH)


def test_a_checkpoint_deleted_below_the_signers_record_is_left_to_verify(
    runtime: Runtime,
) -> None:
    signed_chain(runtime, 9, every=3)
    delete_checkpoints(runtime, "seq = 6")
    build_chain(runtime, 1)
    # the entries hold from the signer's last checkpoint (9) on, so signing vouches for no
    # forgery; the gap below stays visible to verify
    assert make_checkpoint(runtime) is not None
    assert broken(runtime) == (9, Reason.CHECKPOINT_CHAIN_BROKEN)


def test_without_its_record_the_task_refuses_entries_left_unsigned_too_long(
    runtime: Runtime,
) -> None:
    signed_chain(runtime, 6, every=3)
    rewrite_from(runtime, 2, actor="client:7")
    delete_checkpoints(runtime)
    witness(runtime.settings).path.unlink()
    wait_past_stale(runtime)
    with pytest.raises(ChainBroken) as err:
        make_checkpoint(runtime)
    assert (err.value.brk.seq, err.value.brk.reason) == (1, Reason.CHECKPOINT_STALE)
    # an operator who has checked the chain against outside copies may sign anyway
    assert make_checkpoint(runtime, allow_stale=True) is not None


def test_the_task_signs_on_after_an_intact_stretch(runtime: Runtime) -> None:
    signed_chain(runtime, 9, every=3)
    build_chain(runtime, 2)
    cp = make_checkpoint(runtime)
    assert cp is not None and cp.seq == 11
    assert witness(runtime.settings).read().seq == 11  # type: ignore[union-attr]
    report = verify_now(runtime)
    assert report.ok and report.checkpoints == 4 and report.checkpointed_seq == 11


def test_a_disclosure_whose_entry_was_removed_and_the_chain_renumbered(
    runtime: Runtime, api: TestClient
) -> None:
    world = make_world(runtime, api)
    case_id = world.case()
    world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]
    world.get(referral_id, world.recipient)  # the recipient reads it: a disclosure
    build_chain(runtime, 3)
    (entry,) = rows(runtime, "action = 'disclosure'")
    assert verify_now(runtime).ok
    # the disclosure's entry goes, the chain is re-linked, no checkpoint is left to tell
    remove_and_renumber(runtime, entry.seq)
    delete_checkpoints(runtime)
    assert broken(runtime) == (entry.seq, Reason.DISCLOSURE_MISMATCH)


def test_a_disclosure_row_altered_is_caught(runtime: Runtime, api: TestClient) -> None:
    world = make_world(runtime, api)
    case_id = world.case()
    world.consent(case_id)
    world.get(world.refer(case_id).json()["id"], world.recipient)
    (entry,) = rows(runtime, "action = 'disclosure'")
    sql(runtime, "UPDATE disclosures SET channel = 'fhir'")
    report = verify_now(runtime)
    assert (report.first_broken_seq, report.reason) == (entry.seq, Reason.DISCLOSURE_MISMATCH)
    assert report.disclosures == 1
