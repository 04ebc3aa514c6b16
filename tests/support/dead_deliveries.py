"""A real dead delivery: a referral pushed to a partner's webhook (served on 127.0.0.1) that
refuses it for good, run through the outbox as the worker's task does."""

from __future__ import annotations

from sqlalchemy import select

from hub.delivery.models import Delivery
from hub.outbox import service as outbox
from hub.runtime import Runtime
from tests.support.api import Partner
from tests.support.outbox_drain import pending
from tests.support.referral_world import World
from tests.support.webhook_receiver import WebhookReceiver


def attempt(runtime: Runtime) -> list[str]:
    """One attempt of each due message, failures handled as the worker's task does (retry
    now, or dead after the last attempt or a permanent error); returns the outcomes."""
    outcomes = []
    for message in pending(runtime):
        claimed = outbox.claim(runtime, message.id)
        if claimed is None:
            continue
        try:
            outbox.execute(runtime, claimed)
            outcomes.append("done")
        except outbox.RetryableError as exc:
            error = outbox.error_summary(exc)
            if claimed.attempts >= runtime.settings.outbox_max_attempts:
                outbox.mark_dead(runtime, claimed, error=error)
                outcomes.append("dead")
            else:
                outbox.release_for_retry(runtime, claimed, error=error, delay=0, via_broker=False)
                outcomes.append("retry")
        except outbox.PermanentError as exc:
            outbox.mark_dead(runtime, claimed, error=outbox.error_summary(exc))
            outcomes.append("dead")
    return outcomes


def dead_referral(world: World, admin: Partner, receiver: WebhookReceiver) -> Delivery:
    """A referral of the world's sender whose delivery the recipient's webhook refused (404):
    dead at once. The receiver answers 204 again afterwards."""
    answer = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "webhook", "url": receiver.url},
        headers=admin.headers,
    )
    assert answer.status_code == 200, answer.text
    receiver.answer = 404
    referral_id = world.sent()
    assert attempt(world.runtime) == ["dead"]
    receiver.answer = 204
    with world.runtime.sessions() as db:
        delivery = db.scalars(select(Delivery).where(Delivery.referral_id == referral_id)).one()
        db.expunge(delivery)
    assert delivery.status == "dead"
    return delivery
