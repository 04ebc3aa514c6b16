"""A transfer request's answer deadline reaches the partners' systems as a referral's does: the
owner's webhook is reminded, the requester's learns it is overdue, an escalation reaches both,
each once, through the outbox, in ids and codes only (never the request's words, never whether
the owner's case was matched)."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.runtime import Runtime
from hub.transfers.requests import deadlines
from hub.transfers.requests.models import TransferRequest
from tests.delivery.test_notices import _events
from tests.support.api import Partner
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.transfer_world import make_world
from tests.support.webhook_receiver import WebhookReceiver


def _hook(api: TestClient, admin: Partner, who: Partner, url: str) -> None:
    response = api.put(
        f"/v1/organizations/{who.organization_id}/channel",
        json={"kind": "webhook", "url": url},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


def test_request_deadline_notices_reach_the_webhooks(
    runtime: Runtime, api: TestClient, admin: Partner, receiver: WebhookReceiver
) -> None:
    world = make_world(runtime, api)
    with WebhookReceiver() as requester_hook:
        _hook(api, admin, world.sender, receiver.url)  # the owner asked
        _hook(api, admin, world.ngo, requester_hook.url)  # the requester
        asked = api.post(
            "/v1/transfer-requests",
            json={
                "owner_organization_id": world.sender.organization_id,
                "case_ref": "MRRM-NE-NOTICE",
                "reason": "the family moved to Niamey",
                "urgency": "normal",
            },
            headers=world.ngo.headers,
        )
        assert asked.status_code == 201, asked.text
        request_id = asked.json()["id"]
        drain(runtime)
        assert (_events(receiver), _events(requester_hook)) == ([], [])
        with runtime.sessions() as db:
            due = db.get_one(TransferRequest, request_id).answer_by

        # 72 h to answer: reminded 24 h before, to the owner only
        assert run_at(deadlines.run, runtime, due - timedelta(hours=23)).reminded == [request_id]
        drain(runtime)
        assert _events(receiver) == ["transfer_request.reminder"]
        assert _events(requester_hook) == []

        # past it: the requester learns it is overdue
        assert run_at(deadlines.run, runtime, due + timedelta(minutes=1)).overdue == [request_id]
        drain(runtime)
        assert _events(requester_hook) == ["transfer_request.overdue"]

        # escalated 24 h past it: both, once, however often the pass runs
        assert run_at(deadlines.run, runtime, due + timedelta(hours=25)).escalated == [request_id]
        run_at(deadlines.run, runtime, due + timedelta(hours=26))
        drain(runtime)
        assert _events(receiver) == ["transfer_request.reminder", "transfer_request.escalated"]
        assert _events(requester_hook) == [
            "transfer_request.overdue",
            "transfer_request.escalated",
        ]

    body = json.loads(receiver.snapshot()[-1].body)
    said = body["transfer_request"]
    assert (said["id"], said["status"], said["escalated"]) == (request_id, "requested", True)
    assert said["requester_organization_id"] == world.ngo.organization_id
    assert body["links"]["transfer_request"].endswith(f"/v1/transfer-requests/{request_id}")
    raw = b"".join(item.body for item in receiver.snapshot() + requester_hook.snapshot())
    # nothing the requester wrote, and nothing of the owner's case
    assert b"Niamey" not in raw and b"MRRM-NE-NOTICE" not in raw and b"case_id" not in raw
    with runtime.sessions() as db:
        actions = set(
            db.scalars(select(AuditEntry.action).where(AuditEntry.object_id == request_id))
        )
    assert {
        "transfer_request.reminder_queued",
        "transfer_request.overdue_notice_queued",
        "transfer_request.escalation_notice_queued",
    } <= actions


def test_an_organisation_without_a_webhook_is_not_pushed_to(
    runtime: Runtime, api: TestClient, receiver: WebhookReceiver
) -> None:
    world = make_world(runtime, api)
    asked = api.post(
        "/v1/transfer-requests",
        json={
            "owner_organization_id": world.sender.organization_id,
            "case_ref": "MRRM-NE-INBOX",
            "reason": "moved",
            "urgency": "normal",
        },
        headers=world.ngo.headers,
    )
    request_id = asked.json()["id"]
    with runtime.sessions() as db:
        due = db.get_one(TransferRequest, request_id).answer_by
    run_at(deadlines.run, runtime, due + timedelta(hours=25))
    drain(runtime)
    assert _events(receiver) == []
    with runtime.sessions() as db:
        actions = list(
            db.scalars(select(AuditEntry.action).where(AuditEntry.object_id == request_id))
        )
    # the notice was handled (nowhere to push) and audited once
    assert actions.count("transfer_request.escalation_notice_queued") == 1
