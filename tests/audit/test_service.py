from hub.audit.models import AuditEntry, AuditHead
from hub.audit.service import entry_hash, record
from hub.runtime import Runtime


def test_entries_chain_each_to_the_previous(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        first = record(db, actor="system", action="test.one", object_type="test")
        second = record(
            db,
            actor="system",
            action="test.two",
            object_type="test",
            object_id="x",
            details={"n": 2},
        )
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


def test_rolled_back_work_leaves_no_entry(runtime: Runtime) -> None:
    try:
        with runtime.sessions.begin() as db:
            record(db, actor="system", action="test.one", object_type="test")
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    with runtime.sessions() as db:
        assert db.query(AuditEntry).count() == 0
