"""Deliveries under faults, with real `hub worker` processes: a partner down then back, a
worker killed mid-delivery, the broker (a Redis of the test's own) restarted during a run.

Each test prints what the partner received (`sent=N received=R unique=U duplicates=D`: run
pytest with -s to see it). Delivery is at least once: a partner may receive a delivery id
more than once, but every referral arrives, is delivered once and is accounted for once.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from hub.delivery.models import Delivery
from hub.delivery.schemas import DeliveryStatus
from hub.disclosures.models import Disclosure
from hub.lifecycle.models import LifecycleEvent
from hub.referrals.lifecycle import DELIVERED, SENT
from hub.referrals.models import Referral
from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from tests.support import workers
from tests.support.api import Partner
from tests.support.referral_world import World
from tests.support.webhook_receiver import WebhookReceiver, closed_port
from tests.support.workers import (
    FAST_OUTBOX,
    HUB,
    HubProcess,
    _die_with_the_test_run,
    group_running,
    settings_env,
    wait_for,
)

pytestmark = pytest.mark.worker

StartWorker = Callable[[], HubProcess]

# the fixture that starts `hub` subprocesses and kills them all when the test ends
hub_processes = workers.hub_processes

# FAST_OUTBOX's short leases and back-off, with attempts enough that nothing dies in a test
# (ten attempts span minutes of back-off; every test here is over in well under one)
FAULT_OUTBOX = {**FAST_OUTBOX, "outbox_max_attempts": 10}
WAIT = 90.0  # bounds every wait; a test takes seconds when the machine is not starved
REFERRALS_WHILE_DOWN = 10


class PrivateRedis:
    """A `redis-server` on 127.0.0.1 for one test, without persistence: killing it loses
    every message it held, as a crashed broker without a disk would."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = closed_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.starts += 1
        log = (self.folder / f"redis-{self.starts}.log").open("wb")
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.proc = subprocess.Popen(
            argv,
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_the_test_run,
        )
        log.close()  # the child has its own descriptor
        wait_for(self.answers, f"redis-server on port {self.port}", timeout=30)

    def answers(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"redis-server exited: {self.logs()}")
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.folder.glob("*.log")))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: the broker restart needs a Redis of its own")
    folder = tmp_path / "redis"
    folder.mkdir()
    server = PrivateRedis(folder)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """The connectors' settings (127.0.0.1 over http) with short leases, the same for the
    test's runtime and its workers; on the test's private Redis when it asks for one, else
    on the run's broker under a key prefix of its own."""
    overrides: dict[str, object] = dict(FAULT_OUTBOX)
    if "redis_server" in request.fixturenames:
        overrides["broker_url"] = request.getfixturevalue("redis_server").url
    else:
        overrides["broker_key_prefix"] = f"hubtest-{uuid.uuid4().hex[:12]}:"
    faulty = load_settings(**{**settings.model_dump(exclude_defaults=True), **overrides})
    yield faulty
    prefix = faulty.broker_key_prefix
    if prefix and faulty.broker_url and faulty.broker_url.startswith("redis"):
        client = redis.Redis.from_url(faulty.broker_url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@pytest.fixture
def start_worker(settings: Settings, hub_processes: Callable[..., HubProcess]) -> StartWorker:
    """A real `hub worker` with its scheduler (which dispatches the outbox), on `settings`."""

    def start() -> HubProcess:
        argv = [HUB, "worker", "--beat", "--pool", "solo"]
        return hub_processes(argv, settings_env(settings), "worker")

    return start


# -- helpers ---------------------------------------------------------------------------------


def _webhook(world: World, admin: Partner, receiver: WebhookReceiver) -> None:
    response = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "webhook", "url": receiver.url},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


def _deliveries(runtime: Runtime, referral_ids: list[str]) -> dict[str, Delivery]:
    """Each referral's delivery, by referral id (a referral with two would fail here)."""
    with runtime.sessions() as db:
        rows = list(db.scalars(select(Delivery).where(Delivery.referral_id.in_(referral_ids))))
    found = {row.referral_id: row for row in rows}
    assert len(found) == len(rows), "a referral has more than one delivery"
    return found


def _all_delivered(runtime: Runtime, referral_ids: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        rows = _deliveries(runtime, referral_ids)
        return len(rows) == len(referral_ids) and all(
            row.status == DeliveryStatus.delivered for row in rows.values()
        )

    return check


def _report(receiver: WebhookReceiver, sent: int) -> dict[str, int]:
    counts = receiver.counts()
    print(
        f"sent={sent} received={counts['received']} unique={counts['unique']} "
        f"duplicates={counts['duplicates']}"
    )
    return counts


def _assert_delivered_once(
    runtime: Runtime, receiver: WebhookReceiver, referral_ids: list[str]
) -> dict[str, Delivery]:
    """Every referral arrived, is `delivered` (one lifecycle move) and disclosed once."""
    deliveries = _deliveries(runtime, referral_ids)
    assert sorted(deliveries) == sorted(referral_ids), "a referral has no delivery"
    arrived = receiver.ids()
    assert {row.id for row in deliveries.values()} <= arrived
    with runtime.sessions() as db:
        for referral_id in referral_ids:
            assert deliveries[referral_id].status == DeliveryStatus.delivered
            assert db.get_one(Referral, referral_id).status == DELIVERED
            moves = db.scalar(
                select(func.count())
                .select_from(LifecycleEvent)
                .where(
                    LifecycleEvent.object_type == "referral",
                    LifecycleEvent.object_id == referral_id,
                    LifecycleEvent.to_status == DELIVERED,
                )
            )
            assert moves == 1, f"{moves} `delivered` moves"
            channels = list(
                db.scalars(select(Disclosure.channel).where(Disclosure.referral_id == referral_id))
            )
            assert channels == ["webhook"]
    return deliveries


# -- the faults ------------------------------------------------------------------------------


def test_referrals_sent_while_the_partner_is_down_arrive_once_it_is_back(
    runtime: Runtime,
    world: World,
    admin: Partner,
    receiver: WebhookReceiver,
    start_worker: StartWorker,
) -> None:
    _webhook(world, admin, receiver)
    receiver.down()
    worker = start_worker()
    referral_ids = [world.sent() for _ in range(REFERRALS_WHILE_DOWN)]

    def all_failed_once() -> bool:
        rows = _deliveries(runtime, referral_ids).values()
        return len(rows) == len(referral_ids) and all(
            row.attempts >= 1 and row.last_error for row in rows
        )

    wait_for(all_failed_once, "an attempt at each delivery", timeout=WAIT, watch=worker)
    with runtime.sessions() as db:
        statuses = set(db.scalars(select(Referral.status).where(Referral.id.in_(referral_ids))))
    assert statuses == {SENT}
    assert receiver.counts()["received"] == 0

    receiver.up()
    wait_for(_all_delivered(runtime, referral_ids), "every delivery", timeout=WAIT, watch=worker)
    counts = _report(receiver, len(referral_ids))

    deliveries = _assert_delivered_once(runtime, receiver, referral_ids)
    assert counts["unique"] == len(referral_ids)
    # each one failed against the closed port and succeeded on a later attempt
    assert all(row.attempts >= 2 and row.last_error is None for row in deliveries.values())


def test_a_worker_killed_mid_delivery_is_replaced_and_the_partner_gets_the_same_id_again(
    runtime: Runtime,
    world: World,
    admin: Partner,
    receiver: WebhookReceiver,
    start_worker: StartWorker,
) -> None:
    _webhook(world, admin, receiver)
    receiver.hold.clear()  # the partner keeps the first push waiting for its answer
    first = start_worker()
    referral_id = world.sent()
    wait_for(receiver.arrived.is_set, "the first push", timeout=WAIT, watch=first)

    group = first.pid
    first.kill_group(signal.SIGKILL)
    wait_for(lambda: not group_running(group), "the killed worker's group to vanish", timeout=30)
    # pushed but never finished: nothing recorded as delivered or disclosed
    assert _deliveries(runtime, [referral_id])[referral_id].status == DeliveryStatus.pending
    with runtime.sessions() as db:
        assert db.get_one(Referral, referral_id).status == SENT
        assert not db.scalars(select(Disclosure).where(Disclosure.referral_id == referral_id)).all()

    receiver.hold.set()
    second = start_worker()
    wait_for(_all_delivered(runtime, [referral_id]), "the delivery", timeout=WAIT, watch=second)
    counts = _report(receiver, 1)

    deliveries = _assert_delivered_once(runtime, receiver, [referral_id])
    assert counts["unique"] == 1
    assert counts["duplicates"] >= 1
    assert receiver.ids() == {deliveries[referral_id].id}
    assert deliveries[referral_id].attempts >= 2


def test_referrals_survive_a_broker_restart(
    runtime: Runtime,
    world: World,
    admin: Partner,
    receiver: WebhookReceiver,
    redis_server: PrivateRedis,
    start_worker: StartWorker,
) -> None:
    assert runtime.settings.broker_url == redis_server.url
    _webhook(world, admin, receiver)
    worker = start_worker()
    before = [world.sent() for _ in range(5)]
    # the worker is up and consuming from this Redis before it goes
    wait_for(receiver.arrived.is_set, "a first delivery", timeout=WAIT, watch=worker)

    redis_server.kill()
    # the API does not need the broker: the outbox keeps the work (world.sent() asserts 201)
    during = [world.sent() for _ in range(5)]
    time.sleep(1.0)  # a few of the scheduler's ticks find no broker
    rows = _deliveries(runtime, during)
    assert all(row.status == DeliveryStatus.pending for row in rows.values())
    assert worker.alive(), worker.logs()

    redis_server.start()  # empty: whatever it held is lost
    referral_ids = before + during
    wait_for(_all_delivered(runtime, referral_ids), "every delivery", timeout=WAIT, watch=worker)
    counts = _report(receiver, len(referral_ids))

    _assert_delivered_once(runtime, receiver, referral_ids)
    assert counts["unique"] == len(referral_ids)
