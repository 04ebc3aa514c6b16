"""The outbox with real `hub worker` processes: end to end, retries, dead letters, a worker
killed mid-task, a lost broker message, duplicate deliveries."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from hub.outbox import service
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from hub.worker.celery_app import RUN_OUTBOX_TASK
from tests.support.outbox_handlers import (
    CANARY,
    create_effects_table,
    effect_count,
    effects,
    marks_dir,
    read_marks,
)
from tests.support.workers import (
    HANDLERS,
    HUB,
    HubProcess,
    group_running,
    purge_queue,
    queued_messages,
    settings_env,
    wait_for,
)

pytestmark = pytest.mark.worker

StartWorker = Callable[..., HubProcess]


def _enqueue(runtime: Runtime, topic: str, **payload: object) -> str:
    with runtime.sessions.begin() as db:
        return service.enqueue(db=db, topic=topic, payload=payload).id


def _row(runtime: Runtime, outbox_id: str) -> OutboxMessage:
    with runtime.sessions() as db:
        return db.get_one(OutboxMessage, outbox_id)


def _status_is(runtime: Runtime, outbox_id: str, *statuses: str) -> Callable[[], bool]:
    return lambda: _row(runtime, outbox_id).status in statuses


def test_a_message_runs_end_to_end_and_a_rolled_back_one_never_exists(
    outbox_runtime: Runtime, start_worker: StartWorker
) -> None:
    with outbox_runtime.sessions.begin() as db:
        # the change and the work it causes, in one transaction
        db.execute(effects.insert().values(key="cause"))
        outbox_id = service.enqueue(db=db, topic="test.effect", payload={"key": "e2e"}).id
    with pytest.raises(RuntimeError), outbox_runtime.sessions.begin() as db:
        db.execute(effects.insert().values(key="cause-rolled-back"))
        service.enqueue(db=db, topic="test.effect", payload={"key": "rolled-back"})
        raise RuntimeError("the request failed")

    worker = start_worker("--beat")
    wait_for(_status_is(outbox_runtime, outbox_id, OutboxStatus.done), "done", watch=worker)

    row = _row(outbox_runtime, outbox_id)
    assert (row.attempts, row.last_error, row.claim) == (1, None, None)
    assert effect_count(outbox_runtime, "e2e") == 1
    assert effect_count(outbox_runtime, "rolled-back") == 0
    assert effect_count(outbox_runtime, "cause-rolled-back") == 0
    with outbox_runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_a_transient_failure_is_retried_with_backoff_then_succeeds(
    outbox_runtime: Runtime, start_worker: StartWorker
) -> None:
    outbox_id = _enqueue(outbox_runtime, "test.flaky", key="flaky", failures=2)
    worker = start_worker("--beat")
    wait_for(_status_is(outbox_runtime, outbox_id, OutboxStatus.done), "done", watch=worker)

    row = _row(outbox_runtime, outbox_id)
    assert row.attempts == 3
    assert row.last_error == "RetryableError: partner unavailable"
    assert effect_count(outbox_runtime, "flaky") == 1
    attempts = read_marks(outbox_runtime.settings.data_dir, "flaky.attempt")
    assert len(attempts) == 3
    base = outbox_runtime.settings.outbox_backoff_seconds
    # equal jitter: at least half of base, then half of twice base (a little slack for clocks)
    assert attempts[1] - attempts[0] >= base * 0.5 - 0.05
    assert attempts[2] - attempts[1] >= base * 1.0 - 0.05
    # retried by Celery itself: one delivery per attempt, no re-dispatch by the outbox. The
    # last run's mark is written after its task returns, which is after the commit the wait saw
    runs = f"{outbox_id}.runs"
    wait_for(lambda: len(read_marks(outbox_runtime.settings.data_dir, runs)) >= 3, "3 runs")
    assert len(read_marks(outbox_runtime.settings.data_dir, runs)) == 3


def test_failures_end_dead_with_a_reason_and_no_personal_data(
    outbox_runtime: Runtime, start_worker: StartWorker
) -> None:
    broken = _enqueue(outbox_runtime, "test.broken", key="broken")
    crash = _enqueue(outbox_runtime, "test.crash", key="crash")
    worker = start_worker("--beat")
    for outbox_id in (broken, crash):
        wait_for(_status_is(outbox_runtime, outbox_id, OutboxStatus.dead), "dead", watch=worker)

    max_attempts = outbox_runtime.settings.outbox_max_attempts
    row = _row(outbox_runtime, broken)
    assert (row.attempts, row.last_error) == (max_attempts, "RetryableError: partner unavailable")
    assert len(read_marks(outbox_runtime.settings.data_dir, "broken.attempt")) == max_attempts

    # not retryable: dead at the first attempt, its message (which names someone) kept nowhere
    row = _row(outbox_runtime, crash)
    assert (row.attempts, row.last_error) == (1, "ValueError")
    assert len(read_marks(outbox_runtime.settings.data_dir, "crash.attempt")) == 1
    assert effect_count(outbox_runtime, "broken") == effect_count(outbox_runtime, "crash") == 0
    worker.kill_group(signal.SIGTERM)
    logs = worker.logs()
    assert "outbox message dead" in logs
    assert CANARY not in logs


def test_a_worker_killed_mid_task_leaves_it_to_the_next_worker(
    outbox_runtime: Runtime, start_worker: StartWorker
) -> None:
    data_dir = outbox_runtime.settings.data_dir
    outbox_id = _enqueue(outbox_runtime, "test.slow", key="slow", sleep_ms=120_000, once=True)
    first = start_worker("--beat")
    wait_for(lambda: read_marks(data_dir, "slow.started"), "handler start", watch=first)
    assert _row(outbox_runtime, outbox_id).status == OutboxStatus.running

    group = first.pid
    first.kill_group(signal.SIGKILL)
    # the whole group is gone (the worker and its embedded scheduler)
    wait_for(lambda: not group_running(group), "the killed group to vanish")
    assert effect_count(outbox_runtime, "slow") == 0
    assert _row(outbox_runtime, outbox_id).status == OutboxStatus.running

    second = start_worker("--beat")
    wait_for(_status_is(outbox_runtime, outbox_id, OutboxStatus.done), "done", watch=second)
    row = _row(outbox_runtime, outbox_id)
    assert row.attempts == 2
    assert len(read_marks(data_dir, "slow.started")) == 2
    assert effect_count(outbox_runtime, "slow") == 1


def test_a_lost_broker_message_is_dispatched_again_after_its_lease(
    outbox_runtime: Runtime, start_worker: StartWorker
) -> None:
    outbox_id = _enqueue(outbox_runtime, "test.effect", key="lost")
    assert service.dispatch_due(outbox_runtime) == [outbox_id]
    first_dispatch = _row(outbox_runtime, outbox_id).dispatched_at
    assert purge_queue(outbox_runtime) == 1
    assert queued_messages(outbox_runtime) == 0
    assert _row(outbox_runtime, outbox_id).status == OutboxStatus.dispatched

    worker = start_worker("--beat")
    wait_for(_status_is(outbox_runtime, outbox_id, OutboxStatus.done), "done", watch=worker)
    row = _row(outbox_runtime, outbox_id)
    assert row.attempts == 1
    assert row.dispatched_at is not None and first_dispatch is not None
    assert row.dispatched_at > first_dispatch
    assert effect_count(outbox_runtime, "lost") == 1


def test_duplicate_deliveries_run_the_handler_once(
    outbox_runtime: Runtime, start_worker: StartWorker
) -> None:
    data_dir = outbox_runtime.settings.data_dir
    outbox_id = _enqueue(outbox_runtime, "test.slow", key="dup", sleep_ms=1000)
    assert service.dispatch_due(outbox_runtime) == [outbox_id]
    for _ in range(2):
        outbox_runtime.celery.send_task(RUN_OUTBOX_TASK, args=[outbox_id])
    assert queued_messages(outbox_runtime) == 3

    # two pool processes: the copies arrive while the first one runs, and after it is done
    worker = start_worker("--concurrency", "2", pool="prefork")
    wait_for(
        lambda: len(read_marks(data_dir, f"{outbox_id}.runs")) >= 3, "3 deliveries", watch=worker
    )
    row = _row(outbox_runtime, outbox_id)
    assert (row.status, row.attempts) == (OutboxStatus.done, 1)
    assert len(read_marks(data_dir, "dup.started")) == 1
    assert effect_count(outbox_runtime, "dup") == 1


def test_a_retry_longer_than_the_broker_should_hold_goes_back_through_the_outbox(
    worker_settings: Settings, hub_processes: Callable[..., HubProcess]
) -> None:
    # a visibility timeout of 1 s: every back-off (at least 0.5 s) is too long for the broker
    settings = load_settings(
        **{**worker_settings.model_dump(exclude_defaults=True), "broker_visibility_timeout": 1}
    )
    rt = Runtime(settings)
    try:
        create_effects_table(rt.engine)
        outbox_id = _enqueue(rt, "test.flaky", key="long", failures=1)
        assert service.dispatch_due(rt) == [outbox_id]
        first_dispatch = _row(rt, outbox_id).dispatched_at
        worker = hub_processes(
            [HUB, "worker", "--beat", "--pool", "solo", "--include", HANDLERS],
            settings_env(settings),
            "worker",
        )
        wait_for(_status_is(rt, outbox_id, OutboxStatus.done), "done", watch=worker)
        row = _row(rt, outbox_id)
        assert (row.attempts, row.last_error) == (2, "RetryableError: partner unavailable")
        assert effect_count(rt, "long") == 1
        # sent again by the dispatcher, not held by the broker
        assert first_dispatch is not None and row.dispatched_at is not None
        assert row.dispatched_at > first_dispatch
        # the worker logs after its commit: the row can be seen done a moment before the line
        wait_for(lambda: "outbox message done" in worker.logs(), "the log line", watch=worker)
        assert worker.logs().count("outbox message done") == 1
    finally:
        rt.dispose()


def test_a_pool_process_is_replaced_after_its_tasks_and_the_next_one_runs_them_as_well(
    worker_settings: Settings, hub_processes: Callable[..., HubProcess]
) -> None:
    # a fresh process every 2 tasks: its memory never grows past a few tasks' worth, and the
    # hub's runtime is bound again in each new process
    rt = Runtime(worker_settings)
    try:
        create_effects_table(rt.engine)
        ids = [_enqueue(rt, "test.whoami", key="recycled") for _ in range(6)]
        assert service.dispatch_due(rt) == ids
        worker = hub_processes(
            [HUB, "worker", "--pool", "prefork", "--concurrency", "1", "--include", HANDLERS],
            settings_env(worker_settings, HUB_WORKER_MAX_TASKS_PER_CHILD="2"),
            "worker",
        )
        wait_for(lambda: effect_count(rt, "recycled") == 6, "6 effects", watch=worker)
        pids = {p.name for p in marks_dir(worker_settings.data_dir).glob("recycled.pid-*")}
        assert len(pids) == 3
        assert all(_row(rt, outbox_id).status == OutboxStatus.done for outbox_id in ids)
    finally:
        rt.dispose()
