"""What the other party sees of who moved a referral or a transfer: the organisation, never the
client id (which would let it claim that client at the token endpoint) nor the person. The
party's own organisation still sees its own actors."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from hub.auth.tokens import actor_seen_by
from hub.runtime import Runtime
from tests.support import referral_world, transfer_world
from tests.support.api import Partner


def _events(api: TestClient, path: str, who: Partner) -> list[dict[str, Any]]:
    response = api.get(path, headers=who.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _leaks(events: list[dict[str, Any]], *client_ids: str) -> list[str]:
    return [e["actor"] for e in events for c in client_ids if c in e["actor"]]


def test_referral_events_name_the_other_party_by_its_organisation(
    runtime: Runtime, api: TestClient
) -> None:
    world = referral_world.make_world(runtime, api)
    referral_id = world.sent()
    assert world.act(referral_id, "acknowledge", world.recipient).status_code == 200
    assert world.act(referral_id, "accept", world.recipient).status_code == 200
    path = f"/v1/referrals/{referral_id}/events"
    sender_id, recipient_id = world.sender.client_id, world.recipient.client_id

    seen_by_sender = _events(api, path, world.sender)
    assert not _leaks(seen_by_sender, recipient_id)
    assert f"organization:{world.recipient.organization_id}" in {e["actor"] for e in seen_by_sender}
    # its own moves it still sees by client
    assert f"client:{sender_id}" in {e["actor"] for e in seen_by_sender}

    seen_by_recipient = _events(api, path, world.recipient)
    assert not _leaks(seen_by_recipient, sender_id)
    assert f"organization:{world.sender.organization_id}" in {e["actor"] for e in seen_by_recipient}
    assert f"client:{recipient_id}" in {e["actor"] for e in seen_by_recipient}


def test_transfer_events_name_the_other_party_by_its_organisation(
    runtime: Runtime, api: TestClient
) -> None:
    world = transfer_world.make_world(runtime, api)
    transfer_id, _ = world.sent()
    assert world.act(transfer_id, "reject", world.ngo, {"reason": "no capacity"}).status_code == 200
    seen_by_ngo = world.events(transfer_id, world.ngo)
    assert not _leaks(seen_by_ngo, world.sender.client_id)
    seen_by_sender = world.events(transfer_id, world.sender)
    assert not _leaks(seen_by_sender, world.ngo.client_id)
    assert f"organization:{world.ngo.organization_id}" in {e["actor"] for e in seen_by_sender}


def test_the_mapping_of_one_actor() -> None:
    mine, theirs = "org-a", "org-b"
    client = "client:abc"
    person = f"user:u1@{theirs} via client:xyz"
    assert actor_seen_by(client, organization_id=mine, viewer=mine) == client
    assert actor_seen_by(client, organization_id=theirs, viewer=mine) == f"organization:{theirs}"
    # a person's organisation is in the actor itself when the event has none (review moves)
    assert actor_seen_by(person, organization_id=None, viewer=mine) == f"organization:{theirs}"
    assert actor_seen_by(person, organization_id=None, viewer=theirs) == person
    # the hub's own actors are nobody's secret
    assert actor_seen_by("system:hub", organization_id=None, viewer=mine) == "system:hub"
    assert actor_seen_by("connector:webhook", organization_id=None, viewer=mine) == (
        "connector:webhook"
    )
    # whatever else, from nobody's organisation, says nothing about who it was
    assert actor_seen_by("cli:root", organization_id=None, viewer=mine) == "organization:unknown"
    assert actor_seen_by("client:z", organization_id=None, viewer=mine) == "organization:unknown"
