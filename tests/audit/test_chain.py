import base64
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit.chain import ChainBroken, Reason
from hub.audit.checkpoints import checkpoint, message_of
from hub.audit.models import AuditCheckpoint
from hub.audit.service import record
from hub.audit.signing import AuditKey, load_public_key
from hub.audit.verify import verify
from hub.runtime import Runtime
from tests.audit.tamper import (
    build_chain,
    insert,
    move_seq,
    rehash,
    rewrite_from,
    rows,
    set_details,
    sql,
    swap_seqs,
    verify_now,
    wait_past_stale,
)


def broken_at(runtime: Runtime) -> tuple[int | None, Reason | None]:
    report = verify_now(runtime)
    return report.first_broken_seq, report.reason


def test_intact_chain_verifies_with_counts(runtime: Runtime) -> None:
    build_chain(runtime, 10, checkpoints_at=[4, 8])
    report = verify_now(runtime)
    assert report.ok, report
    assert (report.entries, report.head_seq, report.checkpoints) == (10, 10, 2)
    assert report.checkpointed_seq == 8
    assert report.as_dict()["ok"] is True


def test_empty_chain_verifies(runtime: Runtime) -> None:
    report = verify_now(runtime)
    assert report.ok and report.entries == 0 and report.head_seq == 0


def test_verification_streams_past_one_batch(runtime: Runtime, monkeypatch) -> None:
    monkeypatch.setattr("hub.audit.chain.BATCH", 3)
    build_chain(runtime, 10, checkpoints_at=[2, 5, 7, 9])
    assert verify_now(runtime).ok
    set_details(runtime, 8, {"n": 0})
    assert broken_at(runtime) == (8, Reason.HASH_MISMATCH)


def test_altered_field_is_caught(runtime: Runtime) -> None:
    build_chain(runtime, 10, checkpoints_at=[6])
    sql(runtime, "UPDATE audit_entries SET actor = 'client:9' WHERE seq = 4")
    assert broken_at(runtime) == (4, Reason.HASH_MISMATCH)


def test_altered_details_are_caught(runtime: Runtime) -> None:
    build_chain(runtime, 10, checkpoints_at=[6])
    set_details(runtime, 7, {"categories": ["identity"], "n": 7, "extra": True})
    assert broken_at(runtime) == (7, Reason.HASH_MISMATCH)


def test_altered_entry_with_its_own_hash_recomputed_breaks_the_next_link(
    runtime: Runtime,
) -> None:
    build_chain(runtime, 10)
    (row,) = rows(runtime, "seq = 5")
    forged = rehash(row, row.prev_hash, action="case.erased")
    sql(runtime, "DELETE FROM audit_entries WHERE seq = 5")
    insert(runtime, forged)
    assert broken_at(runtime) == (6, Reason.PREV_HASH_MISMATCH)


def test_deleted_entry_in_the_middle_is_caught(runtime: Runtime) -> None:
    build_chain(runtime, 10, checkpoints_at=[8])
    sql(runtime, "DELETE FROM audit_entries WHERE seq = 5")
    report = verify_now(runtime)
    assert (report.first_broken_seq, report.reason) == (5, Reason.ENTRY_MISSING)
    assert report.entries == 4


def test_deleted_entry_with_later_ones_renumbered_is_caught(runtime: Runtime) -> None:
    build_chain(runtime, 10)
    sql(runtime, "DELETE FROM audit_entries WHERE seq = 5")
    move_seq(runtime, above=5, by=-1)
    sql(runtime, "UPDATE audit_head SET seq = 9 WHERE id = 1")
    assert broken_at(runtime) == (5, Reason.HASH_MISMATCH)


def test_tail_removed_after_the_last_checkpoint_is_caught_by_the_head(runtime: Runtime) -> None:
    build_chain(runtime, 10, checkpoints_at=[6])
    sql(runtime, "DELETE FROM audit_entries WHERE seq > 8")
    assert broken_at(runtime) == (9, Reason.TAIL_TRUNCATED)


def test_tail_removed_below_a_checkpoint_is_caught_even_with_the_head_moved_back(
    runtime: Runtime,
) -> None:
    build_chain(runtime, 10, checkpoints_at=[4, 10])
    (row7,) = rows(runtime, "seq = 7")
    sql(runtime, "DELETE FROM audit_entries WHERE seq > 7")
    sql(runtime, "UPDATE audit_head SET seq = 7, hash = :h WHERE id = 1", h=row7.hash)
    report = verify_now(runtime)
    assert (report.first_broken_seq, report.reason) == (8, Reason.TAIL_TRUNCATED)
    assert report.checkpointed_seq == 4


def test_forged_entry_inserted_in_the_middle_is_caught(runtime: Runtime) -> None:
    build_chain(runtime, 10, checkpoints_at=[8])
    (row5,) = rows(runtime, "seq = 5")
    # room made by renumbering; the forgery links to entry 5 and its own hash is right,
    # so it holds: the break shows at the entry it displaced
    move_seq(runtime, above=5, by=1)
    insert(runtime, rehash(row5, row5.hash, seq=6, action="consent.withdrawn"))
    assert broken_at(runtime) == (7, Reason.HASH_MISMATCH)


def test_forged_entry_appended_without_moving_the_head_is_caught(runtime: Runtime) -> None:
    build_chain(runtime, 10, checkpoints_at=[10])
    (row10,) = rows(runtime, "seq = 10")
    insert(runtime, rehash(row10, row10.hash, seq=11))
    assert broken_at(runtime) == (11, Reason.ENTRY_AFTER_HEAD)


def test_forged_entry_before_the_first_is_caught(runtime: Runtime) -> None:
    build_chain(runtime, 5)
    (row1,) = rows(runtime, "seq = 1")
    insert(runtime, rehash(row1, "0" * 64, seq=0))
    assert broken_at(runtime) == (0, Reason.UNEXPECTED_ENTRY)


def test_reordered_entries_are_caught(runtime: Runtime) -> None:
    build_chain(runtime, 10, checkpoints_at=[6])
    swap_seqs(runtime, 3, 4)
    assert broken_at(runtime) == (3, Reason.HASH_MISMATCH)


def test_head_not_matching_the_last_entry_is_caught(runtime: Runtime) -> None:
    build_chain(runtime, 10)
    sql(runtime, "UPDATE audit_head SET hash = :h WHERE id = 1", h="f" * 64)
    assert broken_at(runtime) == (10, Reason.HEAD_MISMATCH)


def test_missing_head_is_caught(runtime: Runtime) -> None:
    build_chain(runtime, 3)
    sql(runtime, "DELETE FROM audit_head")
    assert broken_at(runtime) == (4, Reason.HEAD_MISSING)


def test_forged_checkpoint_signature_is_caught(runtime: Runtime) -> None:
    build_chain(runtime, 10, checkpoints_at=[4, 8])
    with runtime.sessions() as db:
        cp = db.query(AuditCheckpoint).filter_by(seq=8).one()
        message = message_of(cp)
    # a well-formed signature over the right message, by a key that is not the hub's
    forged = base64.b64encode(Ed25519PrivateKey.generate().sign(message)).decode()
    sql(runtime, "UPDATE audit_checkpoints SET signature = :s WHERE seq = 8", s=forged)
    report = verify_now(runtime)
    assert (report.first_broken_seq, report.reason) == (8, Reason.CHECKPOINT_BAD_SIGNATURE)
    assert report.checkpoint_id == cp.id


def test_checkpoint_moved_to_another_hash_fails_its_signature(runtime: Runtime) -> None:
    build_chain(runtime, 10, checkpoints_at=[6])
    sql(runtime, "UPDATE audit_checkpoints SET hash = :h", h="a" * 64)
    assert broken_at(runtime) == (6, Reason.CHECKPOINT_BAD_SIGNATURE)


def test_checkpoint_by_a_key_not_given_is_caught(runtime: Runtime) -> None:
    build_chain(runtime, 6)
    with runtime.sessions.begin() as db:
        checkpoint(db=db, key=AuditKey(Ed25519PrivateKey.generate()))
    assert broken_at(runtime) == (6, Reason.CHECKPOINT_UNKNOWN_KEY)


def test_consistent_rewrite_after_a_checkpoint_is_caught_by_it(runtime: Runtime) -> None:
    build_chain(runtime, 12, checkpoints_at=[4, 9])
    rewrite_from(runtime, 6, actor="client:0", details={"n": 6, "categories": []})
    report = verify_now(runtime)
    # every link holds again: only the signature at 9 can tell
    assert (report.first_broken_seq, report.reason) == (9, Reason.CHECKPOINT_MISMATCH)
    assert report.checkpointed_seq == 4
    sql(runtime, "DELETE FROM audit_checkpoints")
    assert verify_now(runtime).ok  # with its checkpoints gone, only time tells (test_tampers)
    wait_past_stale(runtime)
    assert broken_at(runtime) == (1, Reason.CHECKPOINT_STALE)


def test_checkpoint_skips_when_nothing_is_new(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        assert checkpoint(db=db, key=runtime.audit_key) is None
    build_chain(runtime, 3, checkpoints_at=[3])
    with runtime.sessions.begin() as db:
        assert checkpoint(db=db, key=runtime.audit_key) is None
        record(db, actor="system", action="test.more", object_type="test")
    with runtime.sessions.begin() as db:
        cp = checkpoint(db=db, key=runtime.audit_key)
    assert cp is not None and cp.seq == 4 and cp.key_id == runtime.audit_key.key_id


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("UPDATE audit_entries SET actor = 'x' WHERE seq = 5", (5, Reason.HASH_MISMATCH)),
        ("DELETE FROM audit_entries WHERE seq = 6", (6, Reason.ENTRY_MISSING)),
        ("UPDATE audit_checkpoints SET signature = 'AAAA'", (3, Reason.CHECKPOINT_BAD_SIGNATURE)),
        ("DELETE FROM audit_entries WHERE seq = 1", (1, Reason.ENTRY_MISSING)),
    ],
)
def test_checkpoint_refuses_to_sign_over_a_break(
    runtime: Runtime, tamper: str, expected: tuple[int, Reason]
) -> None:
    build_chain(runtime, 3, checkpoints_at=[3])
    build_chain(runtime, 4)
    if "seq = 1" in tamper:
        # with no checkpoint to start from, the signer checks from the first entry
        sql(runtime, "DELETE FROM audit_checkpoints")
    sql(runtime, tamper)
    with pytest.raises(ChainBroken) as err, runtime.sessions.begin() as db:
        checkpoint(db=db, key=runtime.audit_key)
    assert (err.value.brk.seq, err.value.brk.reason) == expected
    with runtime.sessions() as db:
        assert db.query(AuditCheckpoint).count() == (0 if "seq = 1" in tamper else 1)


def test_checkpoint_refuses_when_the_head_fell_behind_the_last_checkpoint(
    runtime: Runtime,
) -> None:
    build_chain(runtime, 5, checkpoints_at=[5])
    sql(runtime, "DELETE FROM audit_entries WHERE seq > 2")
    sql(runtime, "UPDATE audit_head SET seq = 2 WHERE id = 1")
    with pytest.raises(ChainBroken) as err, runtime.sessions.begin() as db:
        checkpoint(db=db, key=runtime.audit_key)
    assert (err.value.brk.seq, err.value.brk.reason) == (3, Reason.TAIL_TRUNCATED)


def test_concurrent_appends_from_two_sessions_make_one_chain(runtime: Runtime) -> None:
    per_thread = 25
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def append(name: str) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with runtime.sessions.begin() as db:
                    record(
                        db, actor=name, action="test.append", object_type="test", details={"i": i}
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(f"t{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify_now(runtime)
    assert report.ok, report
    assert report.entries == report.head_seq == 2 * per_thread
    assert {r.actor for r in rows(runtime)} == {"t0", "t1"}


def test_verify_while_appends_continue_sees_one_consistent_state(runtime: Runtime) -> None:
    build_chain(runtime, 5, checkpoints_at=[5])
    stop = threading.Event()
    errors: list[BaseException] = []

    def append() -> None:
        try:
            while not stop.is_set():
                with runtime.sessions.begin() as db:
                    record(db, actor="system", action="test.append", object_type="test")
                with runtime.sessions.begin() as db:
                    checkpoint(db=db, key=runtime.audit_key)
                # SQLite's busy wait is not fair: pausing lets the verifier take the lock too
                time.sleep(0.005)
        except BaseException as exc:
            errors.append(exc)

    # the race (head read after the walk) exists on PostgreSQL; SQLite's lock excludes it
    rounds = 5 if runtime.settings.is_sqlite else 20
    writer = threading.Thread(target=append)
    writer.start()
    reports = []
    deadline = time.monotonic() + 10
    try:
        # until verification has demonstrably run between appends (several chain lengths)
        while time.monotonic() < deadline and (
            len(reports) < rounds or len({r.entries for r in reports}) < 3
        ):
            reports.append(verify_now(runtime))
            time.sleep(0.005)
    finally:
        stop.set()
        writer.join()
    assert errors == []
    assert all(r.ok for r in reports), [r for r in reports if not r.ok]
    assert len({r.entries for r in reports}) >= 3


def test_verify_with_only_an_exported_public_key(runtime: Runtime) -> None:
    build_chain(runtime, 4, checkpoints_at=[4])
    public = load_public_key(runtime.audit_key.public_pem.encode())
    with runtime.sessions.begin() as db:
        assert verify(db=db, public_keys=[public]).ok
    with runtime.sessions.begin() as db:
        other = Ed25519PrivateKey.generate().public_key()
        report = verify(db=db, public_keys=[other])
    assert (report.first_broken_seq, report.reason) == (4, Reason.CHECKPOINT_UNKNOWN_KEY)
