"""Every webhook delivery carries the hub's latest signed audit checkpoint
(`Hub-Audit-Checkpoint`), so partners hold copies the hub cannot rewrite."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from hub.audit.checkpoints import checkpoint_message
from hub.audit.published import parse_header
from hub.audit.signing import load_public_key, verify_signature
from hub.audit.tasks import make_checkpoint
from hub.audit.verify import Expectation
from tests.audit.tamper import delete_checkpoints, rewrite_from, verify_now
from tests.support.api import Partner
from tests.support.outbox_drain import drain
from tests.support.referral_world import World
from tests.support.webhook_receiver import WebhookReceiver


def _webhook(world: World, admin: Partner, **body: Any) -> None:
    response = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "webhook", **body},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


def test_a_webhook_delivery_carries_the_latest_checkpoint(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    runtime = world.runtime
    _webhook(world, admin, url=receiver.url)
    world.sent()
    cp = make_checkpoint(runtime)  # signed while the referral waits in the outbox
    assert cp is not None
    assert drain(runtime) == ["referral.deliver"]

    [item] = receiver.snapshot()
    parts = parse_header(item.headers["hub-audit-checkpoint"])
    assert (int(parts["seq"]), parts["hash"], parts["key_id"]) == (cp.seq, cp.hash, cp.key_id)
    # the partner can check it offline with the hub's audit public key
    message = checkpoint_message(
        seq=int(parts["seq"]),
        hash=parts["hash"],
        at=datetime.fromisoformat(parts["at"]),
        key_id=parts["key_id"],
        prev_digest=parts["prev"] or None,
    )
    public = load_public_key(runtime.audit_key.public_pem.encode())
    assert verify_signature(public, base64.b64decode(parts["sig"]), message)

    # the operator later verifies against the partner's copy: a rewrite with the
    # checkpoints deleted does not pass
    kept = Expectation(int(parts["seq"]), parts["hash"])
    assert verify_now(runtime, expect=[kept]).ok
    rewrite_from(runtime, 1, actor="someone-else")
    delete_checkpoints(runtime)
    assert verify_now(runtime, expect=[kept]).first_broken_seq == kept.seq


def test_before_any_checkpoint_the_header_is_absent(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    _webhook(world, admin, url=receiver.url, secret="a-partner-hmac-key-of-32-bytes!!")
    world.sent()
    drain(world.runtime)
    [item] = receiver.snapshot()
    assert "hub-audit-checkpoint" not in item.headers
