"""The outbox in one process: enqueue, dispatch, claim, execute, retry and dead-letter rules.

The broker is real (the filesystem transport, or Redis under HUB_TEST_BROKER_URL); the
worker-process behaviour is in test_tasks.py.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from celery.signals import before_task_publish
from kombu.transport import redis as kombu_redis
from sqlalchemy import select, update

from hub.clock import utcnow
from hub.outbox import service
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from hub.worker.celery_app import (
    DEFAULT_QUEUE,
    DISPATCH_OUTBOX_TASK,
    RUN_OUTBOX_TASK,
    SCHEDULE_QUEUE,
)
from tests.support import outbox_handlers
from tests.support.outbox_handlers import CANARY, effect_count
from tests.support.statements import counted
from tests.support.workers import declare_queues, purge_queue, queued_messages


def _row(runtime: Runtime, outbox_id: str) -> OutboxMessage:
    with runtime.sessions() as db:
        return db.get_one(OutboxMessage, outbox_id)


def _enqueue(runtime: Runtime, topic: str = "test.effect", **payload: Any) -> str:
    with runtime.sessions.begin() as db:
        return service.enqueue(db=db, topic=topic, payload=payload or {"key": "k"}).id


def _set(runtime: Runtime, outbox_id: str, **values: Any) -> None:
    with runtime.sessions.begin() as db:
        db.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values))


def test_enqueue_lives_and_dies_with_the_callers_transaction(outbox_runtime: Runtime) -> None:
    kept = _enqueue(outbox_runtime, key="kept")
    with pytest.raises(RuntimeError), outbox_runtime.sessions.begin() as db:
        service.enqueue(db=db, topic="test.effect", payload={"key": "lost"})
        raise RuntimeError("the change that caused it failed")
    with outbox_runtime.sessions() as db:
        rows = db.scalars(select(OutboxMessage)).all()
    assert [(r.id, r.status, r.attempts, r.payload) for r in rows] == [
        (kept, OutboxStatus.pending, 0, {"key": "kept"})
    ]
    assert service.dispatch_due(outbox_runtime) == [kept]


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("test.effect", {"person": {"name": CANARY}}),
        ("test.effect", {"score": 0.5}),
        ("test.effect", {"ids": ["a", {"name": CANARY}]}),
        ("test.effect", {1: "a"}),
        ("test.effect", {"ids": ["x" * 100] * 50}),
        ("test.effect", ["not", "an", "object"]),
        ("Bad Topic", {"key": "k"}),
        ("", {"key": "k"}),
    ],
)
def test_enqueue_refuses_what_is_not_identifiers(
    outbox_runtime: Runtime, topic: str, payload: Any
) -> None:
    with pytest.raises(ValueError), outbox_runtime.sessions.begin() as db:
        service.enqueue(db=db, topic=topic, payload=payload)
    with outbox_runtime.sessions() as db:
        assert db.scalars(select(OutboxMessage)).all() == []


def test_dispatch_sends_due_rows_only_after_committing_them(outbox_runtime: Runtime) -> None:
    now = utcnow()
    past, future = now - timedelta(seconds=5), now + timedelta(hours=1)
    rows = {
        "due": {},
        "later": {"available_at": future},
        "dispatched_live": {"status": OutboxStatus.dispatched, "lease_until": future},
        "dispatched_lapsed": {"status": OutboxStatus.dispatched, "lease_until": past},
        "running_live": {"status": OutboxStatus.running, "lease_until": future, "attempts": 1},
        "running_lapsed": {"status": OutboxStatus.running, "lease_until": past, "attempts": 1},
        "done": {"status": OutboxStatus.done},
        "dead": {"status": OutboxStatus.dead, "attempts": 3},
    }
    ids = {}
    for name, values in rows.items():
        ids[name] = _enqueue(outbox_runtime, key=name)
        if values:
            _set(outbox_runtime, ids[name], **values)

    seen_at_publish: dict[str, str] = {}

    def look(headers: dict[str, Any] | None = None, **_: Any) -> None:
        # another connection: it sees the row only if the dispatcher committed before sending
        outbox_id = (headers or {}).get("argsrepr", "").strip("[]'\"")
        with outbox_runtime.engine.connect() as conn:
            seen_at_publish[outbox_id] = conn.execute(
                select(OutboxMessage.status).where(OutboxMessage.id == outbox_id)
            ).scalar_one()

    before_task_publish.connect(look, weak=False)
    try:
        sent = service.dispatch_due(outbox_runtime)
    finally:
        before_task_publish.disconnect(look)

    expected = {ids["due"], ids["dispatched_lapsed"], ids["running_lapsed"]}
    assert set(sent) == expected
    assert seen_at_publish == dict.fromkeys(expected, OutboxStatus.dispatched)
    assert queued_messages(outbox_runtime) == 3
    lease = timedelta(seconds=outbox_runtime.settings.outbox_lease_seconds)
    for name, outbox_id in ids.items():
        row = _row(outbox_runtime, outbox_id)
        if outbox_id in expected:
            assert row.status == OutboxStatus.dispatched
            assert row.claim is None
            assert now + lease <= row.lease_until <= utcnow() + lease
        else:
            assert row.status == rows[name].get("status", OutboxStatus.pending), name
    # nothing is due any more until the leases lapse
    assert service.dispatch_due(outbox_runtime) == []


def test_a_lapsed_lease_on_the_last_attempt_is_dead_not_dispatched(
    outbox_runtime: Runtime,
) -> None:
    outbox_id = _enqueue(outbox_runtime)
    _set(
        outbox_runtime,
        outbox_id,
        status=OutboxStatus.running,
        attempts=outbox_runtime.settings.outbox_max_attempts,
        lease_until=utcnow() - timedelta(seconds=1),
        claim="x" * 32,
    )
    assert service.dispatch_due(outbox_runtime) == []
    row = _row(outbox_runtime, outbox_id)
    assert (row.status, row.claim) == (OutboxStatus.dead, None)
    assert row.last_error is not None and row.last_error.startswith("WorkerLost")


@pytest.mark.parametrize(("waited_minutes", "lease_minutes"), [(3, 3), (10, 10), (300, 60)])
def test_a_message_never_claimed_waits_longer_each_time_it_is_sent_again(
    outbox_runtime: Runtime, waited_minutes: int, lease_minutes: int
) -> None:
    # a row dispatched long ago and never claimed is most likely queued behind a backlog:
    # sent again, its next lease is as long as it has waited (capped), not the configured one
    assert outbox_runtime.settings.outbox_lease_seconds < 180
    outbox_id = _enqueue(outbox_runtime)
    now = utcnow()
    _set(
        outbox_runtime,
        outbox_id,
        status=OutboxStatus.dispatched,
        available_at=now - timedelta(minutes=waited_minutes),
        dispatched_at=now - timedelta(minutes=waited_minutes),
        lease_until=now - timedelta(seconds=1),
    )
    assert service.dispatch_due(outbox_runtime) == [outbox_id]
    row = _row(outbox_runtime, outbox_id)
    assert row.status == OutboxStatus.dispatched
    assert row.lease_until is not None and row.dispatched_at is not None
    # measured at the dispatcher's own now (the row's new dispatched_at), not at the test's,
    # which is a few milliseconds earlier: the wait is then a little over `waited_minutes`
    lease = row.lease_until - row.dispatched_at
    waited = row.dispatched_at - (now - timedelta(minutes=waited_minutes))
    assert lease == min(waited, timedelta(hours=1))
    assert timedelta(minutes=lease_minutes) <= lease
    assert lease - timedelta(minutes=lease_minutes) <= waited - timedelta(minutes=waited_minutes)
    # not sent a third time while that lease runs
    assert service.dispatch_due(outbox_runtime) == []


def test_a_message_still_queued_at_the_broker_is_not_sent_again(
    outbox_runtime: Runtime,
) -> None:
    # behind a backlog: the broker still holds the message when its lease ends
    outbox_id = _enqueue(outbox_runtime)
    declare_queues(outbox_runtime)
    assert service.dispatch_due(outbox_runtime) == [outbox_id]
    assert queued_messages(outbox_runtime) == 1
    _set(outbox_runtime, outbox_id, lease_until=utcnow() - timedelta(seconds=1))
    assert service.dispatch_due(outbox_runtime) == []
    assert queued_messages(outbox_runtime) == 1
    row = _row(outbox_runtime, outbox_id)
    assert row.status == OutboxStatus.dispatched
    assert row.lease_until is not None and row.lease_until > utcnow()
    # the broker lost it: sent again at the next lease's end
    assert purge_queue(outbox_runtime) == 1
    _set(outbox_runtime, outbox_id, lease_until=utcnow() - timedelta(seconds=1))
    assert service.dispatch_due(outbox_runtime) == [outbox_id]
    assert queued_messages(outbox_runtime) == 1


def test_a_dead_workers_message_is_sent_again_with_the_configured_lease(
    outbox_runtime: Runtime,
) -> None:
    outbox_id = _enqueue(outbox_runtime)
    _set(
        outbox_runtime,
        outbox_id,
        status=OutboxStatus.running,
        attempts=1,
        available_at=utcnow() - timedelta(hours=2),
        lease_until=utcnow() - timedelta(seconds=1),
        claim="x" * 32,
    )
    assert service.dispatch_due(outbox_runtime) == [outbox_id]
    row = _row(outbox_runtime, outbox_id)
    assert row.lease_until is not None
    configured = timedelta(seconds=outbox_runtime.settings.outbox_lease_seconds)
    assert row.lease_until - utcnow() <= configured


def test_a_broker_that_refuses_leaves_the_rows_pending(worker_settings: Settings) -> None:
    # nothing listens on port 1: every publish fails
    unreachable = load_settings(
        **{
            **worker_settings.model_dump(exclude_defaults=True),
            "broker_url": "redis://127.0.0.1:1/0",
        }
    )
    rt = Runtime(unreachable)
    try:
        outbox_id = _enqueue(rt)
        assert service.dispatch_due(rt) == []
        row = _row(rt, outbox_id)
        assert (row.status, row.lease_until) == (OutboxStatus.pending, None)
    finally:
        rt.dispose()


def test_a_pass_writes_its_messages_to_redis_in_one_batch(
    outbox_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not outbox_runtime.settings.celery_broker_url.startswith("redis://"):
        pytest.skip("kombu batches publishes on Redis only (CI's PostgreSQL run has it)")
    # the first pass connects, and declares the queue, once for the process
    first = _enqueue(outbox_runtime, key="first")
    assert service.dispatch_due(outbox_runtime) == [first]
    ids = [_enqueue(outbox_runtime, key=str(n)) for n in range(5)]
    # each Redis client kombu makes to write with is one round trip at least; unbatched, it
    # makes one per message
    clients: list[object] = []
    create = kombu_redis.Channel._create_client

    def counting(self: kombu_redis.Channel, *args: Any, **kwargs: Any) -> object:
        client = create(self, *args, **kwargs)
        clients.append(client)
        return client

    monkeypatch.setattr(kombu_redis.Channel, "_create_client", counting)
    assert service.dispatch_due(outbox_runtime) == ids
    assert len(clients) == 1
    assert queued_messages(outbox_runtime) == 6
    assert {_row(outbox_runtime, i).status for i in ids} == {OutboxStatus.dispatched}


def test_a_claim_is_exclusive_until_its_lease_lapses(outbox_runtime: Runtime) -> None:
    outbox_id = _enqueue(outbox_runtime, key="claimed")
    first = service.claim(outbox_runtime, outbox_id)
    assert first is not None
    assert (first.topic, first.payload, first.attempts) == ("test.effect", {"key": "claimed"}, 1)
    row = _row(outbox_runtime, outbox_id)
    assert (row.status, row.claim) == (OutboxStatus.running, first.token)
    # a duplicate delivery while the first worker holds it
    assert service.claim(outbox_runtime, outbox_id) is None

    _set(outbox_runtime, outbox_id, lease_until=utcnow() - timedelta(seconds=1))
    second = service.claim(outbox_runtime, outbox_id)
    assert second is not None and second.token != first.token and second.attempts == 2

    # the first worker comes back to life: its work is rolled back, the second one's counts
    with pytest.raises(service.ClaimLost):
        service.execute(outbox_runtime, first)
    assert effect_count(outbox_runtime, "claimed") == 0
    service.execute(outbox_runtime, second)
    assert effect_count(outbox_runtime, "claimed") == 1
    row = _row(outbox_runtime, outbox_id)
    assert (row.status, row.claim, row.lease_until) == (OutboxStatus.done, None, None)
    assert row.done_at is not None
    assert service.claim(outbox_runtime, outbox_id) is None


def test_what_cannot_be_claimed(outbox_runtime: Runtime) -> None:
    max_attempts = outbox_runtime.settings.outbox_max_attempts
    cases = {
        "done": {"status": OutboxStatus.done},
        "dead": {"status": OutboxStatus.dead},
        "not yet available": {"available_at": utcnow() + timedelta(minutes=5)},
        "out of attempts": {"status": OutboxStatus.dispatched, "attempts": max_attempts},
    }
    for values in cases.values():
        outbox_id = _enqueue(outbox_runtime)
        _set(outbox_runtime, outbox_id, **values)
        assert service.claim(outbox_runtime, outbox_id) is None, values
    assert service.claim(outbox_runtime, "0" * 32) is None


def test_a_failing_handler_changes_nothing_and_is_dead_lettered_without_its_message(
    outbox_runtime: Runtime,
) -> None:
    outbox_id = _enqueue(outbox_runtime, "test.crash", key="crash")
    claimed = service.claim(outbox_runtime, outbox_id)
    assert claimed is not None
    with pytest.raises(ValueError) as raised:
        service.execute(outbox_runtime, claimed)
    assert effect_count(outbox_runtime, "crash") == 0
    assert _row(outbox_runtime, outbox_id).status == OutboxStatus.running

    assert service.mark_dead(outbox_runtime, claimed, error=service.error_summary(raised.value))
    row = _row(outbox_runtime, outbox_id)
    assert (row.status, row.last_error, row.claim) == (OutboxStatus.dead, "ValueError", None)
    assert not service.mark_dead(outbox_runtime, claimed, error="again")


def test_release_for_retry_hands_the_message_back_with_a_later_lease(
    outbox_runtime: Runtime,
) -> None:
    outbox_id = _enqueue(outbox_runtime)
    claimed = service.claim(outbox_runtime, outbox_id)
    assert claimed is not None
    before = utcnow()
    assert service.release_for_retry(
        outbox_runtime, claimed, error="RetryableError: x", delay=30, via_broker=True
    )
    row = _row(outbox_runtime, outbox_id)
    assert (row.status, row.claim, row.attempts) == (OutboxStatus.dispatched, None, 1)
    assert before + timedelta(seconds=30) <= row.available_at <= utcnow() + timedelta(seconds=30)
    lease = timedelta(seconds=outbox_runtime.settings.outbox_lease_seconds)
    assert row.lease_until == row.available_at + lease
    assert row.last_error == "RetryableError: x"
    # not before its time, neither by a stray message nor by the dispatcher
    assert service.claim(outbox_runtime, outbox_id) is None
    assert service.dispatch_due(outbox_runtime) == []
    assert not service.release_for_retry(
        outbox_runtime, claimed, error="again", delay=1, via_broker=True
    )


def test_a_long_retry_delay_is_kept_by_the_outbox_not_the_broker(
    outbox_runtime: Runtime,
) -> None:
    outbox_id = _enqueue(outbox_runtime)
    claimed = service.claim(outbox_runtime, outbox_id)
    assert claimed is not None
    assert service.release_for_retry(
        outbox_runtime, claimed, error="RetryableError: x", delay=600, via_broker=False
    )
    row = _row(outbox_runtime, outbox_id)
    assert (row.status, row.claim, row.lease_until) == (OutboxStatus.pending, None, None)
    assert service.dispatch_due(outbox_runtime) == []
    # once due, the dispatcher sends it like any other
    _set(outbox_runtime, outbox_id, available_at=utcnow() - timedelta(seconds=1))
    assert service.dispatch_due(outbox_runtime) == [outbox_id]


def test_an_unknown_topic_is_retryable(outbox_runtime: Runtime) -> None:
    outbox_id = _enqueue(outbox_runtime, "test.nobody-handles-this")
    claimed = service.claim(outbox_runtime, outbox_id)
    assert claimed is not None
    with pytest.raises(service.RetryableError):
        service.execute(outbox_runtime, claimed)


def test_retry_delay_doubles_with_jitter(settings: Settings) -> None:
    base = settings.outbox_backoff_seconds
    for attempt in range(1, 8):
        ceiling = base * 2 ** (attempt - 1)
        delays = [service.retry_delay(settings, attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1
    assert service.retry_delay(settings, 40) <= service.MAX_BACKOFF_SECONDS


def test_retry_delay_waits_at_least_what_the_partner_asked(settings: Settings) -> None:
    asked = 10 * settings.outbox_backoff_seconds  # more than the first back-off could be
    assert service.retry_delay(settings, 1, at_least=asked) == asked
    assert service.retry_delay(settings, 1, at_least=10**9) == service.MAX_BACKOFF_SECONDS
    assert service.RetryableError("busy", retry_after=7.0).retry_after == 7.0


def test_last_error_keeps_only_reasons_the_hub_wrote() -> None:
    assert service.error_summary(ValueError(CANARY)) == "ValueError"
    assert service.error_summary(KeyError(CANARY)) == "KeyError"
    assert service.error_summary(service.RetryableError("partner down")) == (
        "RetryableError: partner down"
    )
    long = service.error_summary(service.PermanentError("x" * 1000))
    assert len(long) < 250


def test_a_topic_has_one_handler() -> None:
    with pytest.raises(ValueError):
        service.handler("test.effect")(lambda db, runtime, payload: None)
    # registering the same function again (a module imported twice) is harmless
    service.handler("test.effect")(outbox_handlers.record_effect)
    assert service.get_handler("test.effect") is outbox_handlers.record_effect
    with pytest.raises(ValueError):
        service.handler("No Spaces")


def _on_commit(settings: Settings, **changes: Any) -> Runtime:
    rt = Runtime(
        load_settings(
            **{
                **settings.model_dump(exclude_defaults=True),
                "outbox_dispatch_on_commit": True,
                **changes,
            }
        )
    )
    outbox_handlers.create_effects_table(rt.engine)
    return rt


def _published(rt: Runtime) -> None:
    """Wait for the background publisher to have handled what the commits so far gave it."""
    assert rt.outbox_publisher is not None
    assert rt.outbox_publisher.wait_idle(30)


def test_a_commit_hands_its_messages_to_the_broker_at_once(worker_settings: Settings) -> None:
    rt = _on_commit(worker_settings)
    try:
        first, second = _enqueue(rt, key="a"), _enqueue(rt, key="b")
        later = None
        with rt.sessions.begin() as db:
            later = service.enqueue(
                db=db,
                topic="test.effect",
                payload={"key": "later"},
                available_at=utcnow() + timedelta(hours=1),
            ).id
        _published(rt)
        assert (_row(rt, first).status, _row(rt, second).status) == (
            OutboxStatus.dispatched,
            OutboxStatus.dispatched,
        )
        assert _row(rt, later).status == OutboxStatus.pending  # not due yet: the dispatcher's
        assert queued_messages(rt) == 2
        # a rolled-back transaction sends nothing, and leaves nothing for the next commit
        with pytest.raises(RuntimeError), rt.sessions.begin() as db:
            service.enqueue(db=db, topic="test.effect", payload={"key": "lost"})
            raise RuntimeError("the change that caused it failed")
        _enqueue(rt, key="c")
        _published(rt)
        assert queued_messages(rt) == 3
        assert service.dispatch_due(rt) == []
    finally:
        rt.dispose()


def test_a_broker_down_at_commit_loses_nothing(worker_settings: Settings) -> None:
    rt = _on_commit(worker_settings, broker_url="redis://127.0.0.1:1/0")
    try:
        outbox_id = _enqueue(rt)  # the commit itself succeeds
        _published(rt)
        row = _row(rt, outbox_id)
        assert (row.status, row.lease_until) == (OutboxStatus.pending, None)
    finally:
        rt.dispose()


def test_a_commit_does_not_wait_for_the_broker(worker_settings: Settings) -> None:
    # the committing thread only queues the ids: held up, the publisher holds up nothing
    rt = _on_commit(worker_settings)
    assert rt.outbox_publisher is not None
    gate = threading.Event()
    publish = rt.outbox_publisher._publish
    rt.outbox_publisher._publish = lambda ids: (gate.wait(30), publish(ids))  # type: ignore[method-assign]
    try:
        with counted(rt.engine) as statements:
            outbox_id = _enqueue(rt)
        # the commit made no statement for the broker, and nothing has been sent yet
        assert not [s for s in statements.sql if s.startswith("UPDATE outbox")], statements.report()
        assert _row(rt, outbox_id).status == OutboxStatus.pending
        assert queued_messages(rt) == 0
        gate.set()
        _published(rt)
        assert _row(rt, outbox_id).status == OutboxStatus.dispatched
        assert queued_messages(rt) == 1
    finally:
        gate.set()
        rt.dispose()


def test_a_message_written_while_the_publisher_is_down_is_published_later(
    worker_settings: Settings,
) -> None:
    rt = _on_commit(worker_settings)
    assert rt.outbox_publisher is not None
    try:
        # a publisher stopped (the process going down after its commit, say): nothing is sent
        rt.outbox_publisher.stop()
        outbox_id = _enqueue(rt)
        assert _row(rt, outbox_id).status == OutboxStatus.pending
        assert queued_messages(rt) == 0
        # the scheduled dispatcher's next pass sends it, once
        assert service.dispatch_due(rt) == [outbox_id]
        assert _row(rt, outbox_id).status == OutboxStatus.dispatched
        assert queued_messages(rt) == 1
        assert service.dispatch_due(rt) == []
    finally:
        rt.dispose()


def test_the_publisher_sends_what_piled_up_in_one_pass(worker_settings: Settings) -> None:
    rt = _on_commit(worker_settings)
    assert rt.outbox_publisher is not None
    gate = threading.Event()
    passes: list[int] = []
    publish = rt.outbox_publisher._publish

    def held(ids: list[str]) -> None:
        gate.wait(30)
        passes.append(len(ids))
        publish(ids)

    rt.outbox_publisher._publish = held  # type: ignore[method-assign]
    try:
        ids = [_enqueue(rt, key=str(n)) for n in range(6)]
        gate.set()
        _published(rt)
        # the first pass took what was queued when it started; all that piled up behind it
        # while it was held went in the second
        assert sum(passes) == 6
        assert len(passes) <= 2
        assert {_row(rt, i).status for i in ids} == {OutboxStatus.dispatched}
        assert queued_messages(rt) == 6
    finally:
        gate.set()
        rt.dispose()


def test_each_message_lands_in_its_own_queue_only(outbox_runtime: Runtime) -> None:
    declare_queues(outbox_runtime)  # both bound, as when a worker listens
    outbox_runtime.celery.send_task(RUN_OUTBOX_TASK, args=["x" * 32])
    outbox_runtime.celery.send_task(DISPATCH_OUTBOX_TASK)
    assert queued_messages(outbox_runtime, DEFAULT_QUEUE) == 1
    assert queued_messages(outbox_runtime, SCHEDULE_QUEUE) == 1
