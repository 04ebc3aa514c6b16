"""The closed loop with a partner on FHIR, run by a real `hub worker` (with its scheduler): a
referral pushed, the consent withdrawn through the API, and the partner's Task cancelled with
its coded reason, the partner being down for a while in between."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from sqlalchemy import select

from hub.connectors.fhir_task import STATUS_REASON_SYSTEM
from hub.delivery.models import Delivery
from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from tests.support import workers
from tests.support.api import Partner
from tests.support.fhir_server import FhirServer
from tests.support.referral_world import World
from tests.support.workers import FAST_OUTBOX, HUB, HubProcess, settings_env, wait_for

pytestmark = pytest.mark.worker

hub_processes = workers.hub_processes
WAIT = 90.0


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    """The connectors' settings (127.0.0.1 over http) with short leases and attempts enough
    that nothing dies in the test, the same for the test's runtime and its worker."""
    overrides = {
        **FAST_OUTBOX,
        "outbox_max_attempts": 10,
        "broker_key_prefix": f"hubtest-{uuid.uuid4().hex[:12]}:",
    }
    fast = load_settings(**{**settings.model_dump(exclude_defaults=True), **overrides})
    yield fast
    if fast.broker_url and fast.broker_url.startswith("redis"):
        client = redis.Redis.from_url(fast.broker_url)
        try:
            keys = list(client.scan_iter(match=f"{fast.broker_key_prefix}*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@pytest.fixture
def start_worker(
    settings: Settings, hub_processes: Callable[..., HubProcess]
) -> Callable[[], HubProcess]:
    def start() -> HubProcess:
        argv = [HUB, "worker", "--beat", "--pool", "solo"]
        return hub_processes(argv, settings_env(settings), "worker")

    return start


def _remote_ref(runtime: Runtime, referral_id: str) -> Callable[[], str | None]:
    def check() -> str | None:
        with runtime.sessions() as db:
            delivery = db.scalars(
                select(Delivery).where(Delivery.referral_id == referral_id)
            ).one_or_none()
            return delivery.remote_ref if delivery is not None else None

    return check


def test_a_withdrawal_reaches_the_partners_task_through_the_worker(
    runtime: Runtime,
    world: World,
    admin: Partner,
    fhir_server: FhirServer,
    start_worker: Callable[[], HubProcess],
) -> None:
    response = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "fhir", "url": fhir_server.base_url},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    worker = start_worker()
    case_id = world.case()
    consent = world.consent(case_id)
    created = world.refer(case_id)
    assert created.status_code == 201, created.text
    referral_id = created.json()["id"]
    remote_ref = wait_for(_remote_ref(runtime, referral_id), "the push", timeout=WAIT, watch=worker)
    task_id = remote_ref.removeprefix("Task/")

    asked = len(fhir_server.authorization)  # every request the partner saw, refused or not
    fhir_server.down()
    world.withdraw(consent["id"])
    wait_for(
        lambda: world.get(referral_id, world.sender).json()["status"] == "cancelled",
        "the cascade",
        timeout=WAIT,
        watch=worker,
    )
    # the write was tried while the partner was down, and is retried
    wait_for(
        lambda: len(fhir_server.authorization) > asked,
        "an attempt while the partner is down",
        timeout=WAIT,
        watch=worker,
    )
    assert fhir_server.updates == []
    fhir_server.up()
    wait_for(
        lambda: fhir_server.updates, "the write to the partner's Task", timeout=WAIT, watch=worker
    )

    [update] = fhir_server.updates
    assert update["id"] == task_id and update["status"] == "cancelled"
    assert update["statusReason"]["coding"] == [
        {
            "system": STATUS_REASON_SYSTEM,
            "code": "consent_withdrawn",
            "display": "The beneficiary withdrew consent",
        }
    ]
    assert fhir_server.tasks[task_id]["status"] == "cancelled"
