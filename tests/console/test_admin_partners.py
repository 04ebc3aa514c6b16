"""The administrators' pages that reach partners' systems: an organisation's OAuth clients
(the secret shown once), its delivery channel, and the dead deliveries redelivered."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.auth.models import OAuthClient
from hub.delivery.models import Delivery
from tests.support.administrators import admin, administrator, in_english
from tests.support.api import Partner, token_for
from tests.support.dead_deliveries import attempt, dead_referral
from tests.support.loopback_partners import receiver, settings
from tests.support.people import Person, csrf_of
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World
from tests.support.webhook_receiver import WebhookReceiver

__all__ = ["admin", "administrator", "receiver", "settings"]


def test_a_clients_secret_is_shown_once_and_works(
    world: World, administrator: Person, api: TestClient
) -> None:
    org = world.recipient.organization_id
    clients_page = api.get(f"/console/admin/organisations/{org}/clients")
    assert clients_page.status_code == 200
    assert 'value="admin"' not in clients_page.text  # a partner's client never holds it
    assert "Read referrals sent or received" in clients_page.text
    csrf = csrf_of(clients_page.text)
    none = api.post(
        f"/console/admin/organisations/{org}/clients?lang=fr", data={"csrf_token": csrf}
    )
    assert none.status_code == 400 and "Choisissez au moins une permission." in none.text
    in_english(api)
    made = api.post(
        f"/console/admin/organisations/{org}/clients",
        data={"csrf_token": csrf, "name": "Case system", "scope": ["referrals:read", "cases:read"]},
    )
    assert made.status_code == 200, made.text
    secret = re.search(r'<code class="secret" id="client-secret">([^<]+)</code>', made.text)
    assert secret, made.text
    with world.runtime.sessions() as db:
        client = db.scalars(
            select(OAuthClient).where(
                OAuthClient.organization_id == org, OAuthClient.name == "Case system"
            )
        ).one()
        assert client.scope == "referrals:read cases:read"
        assert secret.group(1) not in (client.secret_hash or "")
    assert token_for(api, client.client_id, secret.group(1))  # the secret works
    # never again: not in the list, not in the organisation's page, not in the audit log
    for path in (
        f"/console/admin/organisations/{org}/clients",
        f"/console/admin/organisations/{org}",
    ):
        page = api.get(path)
        assert secret.group(1) not in page.text
    assert client.client_id in api.get(f"/console/admin/organisations/{org}/clients").text
    with world.runtime.sessions() as db:
        for entry in db.scalars(select(AuditEntry)):
            assert secret.group(1) not in str(entry.details)

    revoked = api.post(
        f"/console/admin/organisations/{org}/clients/{client.client_id}/revoke",
        data={"csrf_token": csrf},
    )
    assert revoked.status_code == 200 and "The client was revoked" in revoked.text
    refused = api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, secret.group(1)),
    )
    assert refused.status_code == 401
    # a client of another organisation is not found under this one
    other = world.outsider.organization_id
    elsewhere = api.post(
        f"/console/admin/organisations/{other}/clients/{world.sender.client_id}/revoke",
        data={"csrf_token": csrf},
    )
    assert elsewhere.status_code == 404


def test_a_delivery_channel_is_seen_and_changed(
    world: World, administrator: Person, admin: Partner, api: TestClient, receiver: WebhookReceiver
) -> None:
    org = world.recipient.organization_id
    page = api.get(f"/console/admin/organisations/{org}/channel")
    assert page.status_code == 200 and "Inbox" in page.text
    csrf = csrf_of(page.text)
    no_url = api.post(
        f"/console/admin/organisations/{org}/channel?lang=fr",
        data={"csrf_token": csrf, "kind": "webhook"},
    )
    assert no_url.status_code == 400 and "Il y a un problème" in no_url.text
    in_english(api)
    unsafe = api.post(
        f"/console/admin/organisations/{org}/channel",
        data={"csrf_token": csrf, "kind": "webhook", "url": "http://10.0.0.1/hook"},
    )
    assert unsafe.status_code == 400 and 'href="#url"' in unsafe.text
    secret = "a-partner-hmac-key-of-32-bytes!!"
    saved = api.post(
        f"/console/admin/organisations/{org}/channel",
        data={"csrf_token": csrf, "kind": "webhook", "url": receiver.url, "secret": secret},
    )
    assert saved.status_code == 200 and "The channel was saved." in saved.text
    assert secret not in saved.text
    channel = api.get(f"/v1/organizations/{org}/channel", headers=admin.headers).json()
    assert (channel["kind"], channel["url"], channel["signing"]) == (
        "webhook",
        receiver.url,
        "hmac",
    )


def test_a_dead_delivery_is_listed_with_why_and_redelivered(
    world: World, administrator: Person, admin: Partner, api: TestClient, receiver: WebhookReceiver
) -> None:
    delivery = dead_referral(world, admin, receiver)
    listed = api.get("/console/admin/deliveries")
    assert listed.status_code == 200
    assert delivery.id in listed.text and "PermanentError: http_error" in listed.text
    assert "system answered with an error" in listed.text  # the code in plain words
    assert "Partner NGO" in listed.text and "IOM Agadez" in listed.text
    # no payload, nothing about the person
    assert CANARY_NAME not in listed.text and CANARY_NOTE not in listed.text
    french = api.get("/console/admin/deliveries?lang=fr")
    assert "Relancer l'envoi" in french.text and "Cause de l'échec" in french.text
    in_english(api)

    done = api.post(
        f"/console/admin/deliveries/{delivery.id}/redeliver",
        data={"csrf_token": csrf_of(listed.text)},
    )
    assert done.status_code == 200 and "The delivery was queued again." in done.text
    assert delivery.id not in done.text.split("</h1>")[1]
    with world.runtime.sessions() as db:
        assert db.get_one(Delivery, delivery.id).status == "pending"
    assert attempt(world.runtime) == ["done"]
    assert receiver.ids() == {delivery.id}
    with world.runtime.sessions() as db:
        assert db.get_one(Delivery, delivery.id).status == "delivered"
    # twice: the service's own answer
    again = api.post(
        f"/console/admin/deliveries/{delivery.id}/redeliver",
        data={"csrf_token": csrf_of(listed.text)},
    )
    assert again.status_code == 409
