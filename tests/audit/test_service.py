import gc
import hashlib
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from sqlalchemy import select

from hub.audit.models import AuditEntry, AuditHead
from hub.audit.service import (
    AuditNotInstalled,
    chain_prefix,
    chain_text,
    entry_hash,
    listen,
    record,
    record_now,
)
from hub.db.session import make_sessionmaker
from hub.runtime import Runtime
from tests.support.statements import counted


def _entries(runtime: Runtime) -> list[AuditEntry]:
    with runtime.sessions() as db:
        return list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def test_entries_chain_each_to_the_previous(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        record(db, actor="system", action="test.one", object_type="test")
        record(
            db,
            actor="system",
            action="test.two",
            object_type="test",
            object_id="x",
            details={"n": 2},
        )
        # queued until the commit: the head is not taken while the work goes on
        assert db.scalars(select(AuditEntry)).all() == []
    first, second = _entries(runtime)
    assert (first.action, second.action) == ("test.one", "test.two")
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash
    with runtime.sessions() as db:
        stored = db.get(AuditEntry, 2)
        assert stored is not None
        assert stored.hash == entry_hash(
            seq=stored.seq,
            at=stored.at,
            actor=stored.actor,
            action=stored.action,
            object_type=stored.object_type,
            object_id=stored.object_id,
            details=stored.details,
            prev_hash=stored.prev_hash,
        )
        head = db.get(AuditHead, 1)
        assert head is not None and (head.seq, head.hash) == (2, second.hash)


def test_entries_with_quotes_backslashes_and_any_text_chain_as_given(runtime: Runtime) -> None:
    # on PostgreSQL the entries travel as text-array literals the hub quotes itself: whatever
    # the text holds, what is stored, and hashed by the database, is what was recorded
    odd = ['a "quoted" word', 'back\\slash \\"', "{braces, commas}", "NULL", "", " é 😀 \n"]
    with runtime.sessions.begin() as db:
        for n, text in enumerate(odd):
            record(
                db,
                actor=text or "system",
                action="test.odd",
                object_type="test",
                object_id=None if n % 2 else text,
                details={"text": text, "list": odd[: n + 1], "nested": {text: [n, None]}},
            )
    entries = _entries(runtime)
    assert [(e.actor, e.object_id, e.details["text"]) for e in entries] == [
        (text or "system", None if n % 2 else text, text) for n, text in enumerate(odd)
    ]
    previous = "0" * 64
    for entry in entries:
        assert entry.details["nested"] == {entry.details["text"]: [entry.seq - 1, None]}
        assert entry.prev_hash == previous
        assert entry.hash == entry_hash(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            details=entry.details,
            prev_hash=entry.prev_hash,
        )
        previous = entry.hash


def test_rolled_back_work_leaves_no_entry(runtime: Runtime) -> None:
    with runtime.sessions() as db:
        try:
            with db.begin():
                record(db, actor="system", action="test.one", object_type="test")
                raise RuntimeError("abort")
        except RuntimeError:
            pass
        assert _entries(runtime) == []
        # and nothing of it is appended by the same session's next transaction
        with db.begin():
            record(db, actor="system", action="test.after", object_type="test")
    assert [e.action for e in _entries(runtime)] == ["test.after"]


def test_an_entry_appended_at_once_comes_after_those_queued_before_it(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        record(db, actor="system", action="test.queued", object_type="test")
        now = record_now(db, actor="system", action="test.now", object_type="test")
        assert now.seq == 2  # known before the commit: a disclosure keeps it
        record(db, actor="system", action="test.later", object_type="test")
    assert [(e.seq, e.action) for e in _entries(runtime)] == [
        (1, "test.queued"),
        (2, "test.now"),
        (3, "test.later"),
    ]


def test_every_new_session_factory_appends_what_it_queued(runtime: Runtime) -> None:
    # factories made and dropped one after another, as the test suite and `hub` commands do:
    # a new one's session class may take the id of a collected one, which must not make it
    # look as if it were already listened to
    # Each collection below looks only at what was made since this line (gc.freeze): all the
    # garbage it is there for is made in the loop, and a full collection of the whole process
    # (every module the suite imported) took a second of CPU, forty times.
    gc.freeze()
    try:
        for n in range(1, 41):
            sessions = make_sessionmaker(runtime.engine)
            listen(sessions)
            with sessions.begin() as db:
                record(
                    db, actor="system", action="test.factory", object_type="test", object_id=str(n)
                )
            with sessions() as db:
                assert db.get_one(AuditHead, 1).seq == n
            del sessions, db
            gc.collect()
    finally:
        gc.unfreeze()


def test_a_session_without_the_listener_refuses_to_queue(runtime: Runtime) -> None:
    with make_sessionmaker(runtime.engine).begin() as db, pytest.raises(AuditNotInstalled):
        record(db, actor="system", action="test.lost", object_type="test")


def test_the_text_the_database_hashes_is_the_canonical_entry() -> None:
    # the databases chain an entry from `chain_prefix` and its predecessor: what they hash
    # must be, byte for byte, what `entry_hash` (and so `hub audit verify`) hashes
    at = datetime(2026, 11, 29, 5, 10, 0, 12, tzinfo=UTC)
    for details, object_id in [
        ({}, None),
        ({"b": [1, "é"], "a": {"z": True, "y": None}, "note": 'quote " and \\\\ and \u2028'}, "x"),
    ]:
        fields = {
            "at": at,
            "actor": "user:Aïcha",
            "action": "test.text",
            "object_type": "test",
            "object_id": object_id,
            "details": details,
        }
        prev, seq = "ab" * 32, 1234567
        text = chain_text(chain_prefix(**fields), prev, seq)
        assert hashlib.sha256(text.encode()).hexdigest() == entry_hash(
            **fields, seq=seq, prev_hash=prev
        )


def test_an_append_is_one_statement_on_postgresql_and_two_on_sqlite(runtime: Runtime) -> None:
    # the head row is locked by that statement until the commit: on PostgreSQL, for one round
    # trip and the commit (SQLite's writer holds the database from its BEGIN IMMEDIATE)
    with runtime.sessions.begin() as db:
        record(db, actor="system", action="test.first", object_type="test")
    with runtime.sessions.begin() as db:
        for n in range(3):
            record(db, actor="system", action="test.many", object_type="test", object_id=str(n))
        db.flush()
        with counted(runtime.engine) as statements:
            db.commit()
    expected = 2 if runtime.settings.is_sqlite else 1
    assert len([s for s in statements.sql if s != "COMMIT"]) == expected, statements.report()
    entries = _entries(runtime)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert [e.object_id for e in entries[1:]] == ["0", "1", "2"]
    for before, after in pairwise(entries):
        assert after.prev_hash == before.hash
    with runtime.sessions() as db:
        head = db.get_one(AuditHead, 1)
        assert (head.seq, head.hash) == (4, entries[-1].hash)
