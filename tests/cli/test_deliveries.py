"""`hub deliveries`: administrators list the dead letters and queue them again."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.delivery import service as deliveries
from hub.delivery.models import Delivery
from hub.outbox.models import OutboxMessage
from hub.runtime import Runtime
from tests.support.cli import run_hub
from tests.support.outbox_drain import pending
from tests.support.referral_world import make_world


def test_list_the_dead_and_redeliver_one(runtime: Runtime, api: TestClient) -> None:
    world = make_world(runtime, api)
    referral_id = world.sent()
    with runtime.sessions.begin() as db:
        delivery = db.scalars(select(Delivery).where(Delivery.referral_id == referral_id)).one()
        deliveries.on_dead(db, runtime, {"delivery_id": delivery.id}, "RetryableError: timeout")
    delivery_id = delivery.id
    [message] = pending(runtime, "referral.deliver")  # the first message, still pending

    listed = run_hub(runtime.settings, "deliveries", "list", "--status", "dead", "--json")
    assert listed.returncode == 0, listed.stderr
    [item] = json.loads(listed.stdout)["items"]
    assert (item["id"], item["status"], item["last_error"]) == (
        delivery_id,
        "dead",
        "RetryableError: timeout",
    )
    assert world.get(referral_id, world.sender).json()["status"] == "failed"

    redone = run_hub(runtime.settings, "deliveries", "redeliver", delivery_id, "--json")
    assert redone.returncode == 0, redone.stderr
    assert json.loads(redone.stdout)["status"] == "pending"
    assert world.get(referral_id, world.sender).json()["status"] == "sent"
    with runtime.sessions() as db:
        queued = db.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.topic == "referral.deliver", OutboxMessage.id != message.id
            )
        ).all()
    assert queued == [{"delivery_id": delivery_id}]

    again = run_hub(runtime.settings, "deliveries", "redeliver", delivery_id)
    assert again.returncode == 1
    assert "Only a dead delivery can be redelivered" in again.stderr
