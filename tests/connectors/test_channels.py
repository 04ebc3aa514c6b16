"""Delivery channels: set by administrators (API and `hub channels set`), URLs checked, secrets
sealed and never shown."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hub.api.problems import Unprocessable
from hub.audit.models import AuditEntry
from hub.connectors import channels
from hub.connectors.models import DeliveryChannel
from hub.connectors.schemas import ChannelKind, ChannelSet
from hub.crypto.models import DataKey
from hub.runtime import Runtime
from tests.support.api import Partner
from tests.support.cli import run_hub
from tests.support.referral_world import World

SECRET = "s3cret-hmac-key-for-the-partner-0001"


def _put(world: World, admin: Partner, body: dict[str, object]):  # type: ignore[no-untyped-def]
    return world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json=body,
        headers=admin.headers,
    )


def test_an_organisation_without_a_channel_receives_in_its_inbox(
    world: World, admin: Partner
) -> None:
    path = f"/v1/organizations/{world.recipient.organization_id}/channel"
    response = world.api.get(path, headers=admin.headers)
    assert response.status_code == 200
    assert (response.json()["kind"], response.json()["url"]) == ("inbox", None)
    # partners do not administer channels, not even their own
    assert world.api.get(path, headers=world.recipient.headers).status_code == 403
    missing = world.api.get("/v1/organizations/nope/channel", headers=admin.headers)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "webhook"}, "invalid_channel"),
        ({"kind": "inbox", "url": "https://partner.example/hook"}, "invalid_channel"),
        (
            {"kind": "fhir", "url": "http://127.0.0.1:9/fhir", "encryption_jwk": {}},
            "invalid_channel",
        ),
        ({"kind": "webhook", "url": "http://10.1.2.3/hook"}, "unsafe_url"),
        ({"kind": "webhook", "url": "http://169.254.169.254/latest"}, "unsafe_url"),
        ({"kind": "webhook", "url": "http://user:pw@127.0.0.1/hook"}, "unsafe_url"),
        ({"kind": "webhook", "url": "ftp://127.0.0.1/hook"}, "unsafe_url"),
        ({"kind": "carrier-pigeon", "url": "http://127.0.0.1/hook"}, "validation_error"),
        ({"kind": "webhook", "url": "http://127.0.0.1/", "secret": "short"}, "validation_error"),
    ],
)
def test_bad_channels_are_refused_and_nothing_changes(
    world: World, admin: Partner, body: dict[str, object], code: str
) -> None:
    response = _put(world, admin, body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert "pw@" not in response.text
    with world.runtime.sessions() as db:
        assert db.scalars(select(DeliveryChannel)).all() == []


def test_https_is_required_unless_the_setting_says_otherwise(
    runtime: Runtime, world: World
) -> None:
    strict = runtime.settings.model_copy(update={"connector_require_https": True})
    data = ChannelSet(kind=ChannelKind.webhook, url="http://127.0.0.1:8443/hook")
    with runtime.sessions.begin() as db, pytest.raises(Unprocessable) as refused:
        channels.set_channel(
            db=db,
            keyring=runtime.keyring,
            settings=strict,
            organization_id=world.recipient.organization_id,
            data=data,
            actor="test",
        )
    assert refused.value.extra["reason"] == "https_required"


def test_the_secret_is_sealed_never_shown_and_shredded_when_replaced(
    world: World, admin: Partner
) -> None:
    response = _put(
        world, admin, {"kind": "webhook", "url": "http://127.0.0.1:9/h", "secret": SECRET}
    )
    assert response.status_code == 200
    assert SECRET not in response.text and response.json()["has_secret"] is True
    with world.runtime.sessions() as db:
        row = db.get_one(DeliveryChannel, world.recipient.organization_id)
        assert row.secret_ciphertext is not None and SECRET.encode() not in row.secret_ciphertext
        opened = channels.open_channel(
            db=db, keyring=world.runtime.keyring, organization_id=row.organization_id
        )
    assert opened.secret == SECRET.encode()

    response = _put(world, admin, {"kind": "inbox"})
    assert response.json() | {"updated_at": None, "updated_by": None} == {
        "organization_id": world.recipient.organization_id,
        "kind": "inbox",
        "url": None,
        "signing": None,
        "has_secret": False,
        "encryption": None,
        "updated_at": None,
        "updated_by": None,
    }
    with world.runtime.sessions() as db:
        owner = f"channel:{world.recipient.organization_id}"
        assert db.scalars(select(DataKey).where(DataKey.owner == owner)).all() == []


def test_hub_channels_set_follows_the_command_line_contract(runtime: Runtime, world: World) -> None:
    org = world.recipient.organization_id
    env = {
        "HUB_CONNECTOR_ALLOWED_HOSTS": "127.0.0.1",
        "HUB_CONNECTOR_REQUIRE_HTTPS": "false",
    }
    done = run_hub(
        runtime.settings,
        "channels", "set", "--org", org, "--kind", "webhook",
        "--url", "http://127.0.0.1:9/hook", "--secret", "-", "--json",
        stdin=SECRET + "\n",
        **env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert (printed["kind"], printed["signing"], printed["has_secret"]) == ("webhook", "hmac", True)
    assert SECRET not in done.stdout + done.stderr

    shown = run_hub(runtime.settings, "channels", "show", "--org", org, "--json", **env)
    assert json.loads(shown.stdout)["url"] == "http://127.0.0.1:9/hook"

    refused = run_hub(
        runtime.settings, "channels", "set", "--org", org, "--kind", "webhook",
        "--url", "http://10.0.0.7/hook",
    )  # fmt: skip
    assert refused.returncode == 1
    assert "not one the hub may connect to" in refused.stderr


def test_the_audit_log_keeps_the_url_without_its_query_string(world: World, admin: Partner) -> None:
    """The audit log is append-only: a token in a webhook's query string (or fragment) would
    stay in it for ever. It keeps the scheme, host, port and path; the channel keeps the url."""
    url = "http://127.0.0.1:9/hooks/in?token=qs-secret-0001&x=1#frag-secret"
    response = _put(world, admin, {"kind": "webhook", "url": url, "secret": SECRET})
    assert response.status_code == 200, response.text
    with world.runtime.sessions() as db:
        entry = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "channel.set")
            .order_by(AuditEntry.seq.desc())
        ).first()
        assert entry is not None
        assert entry.details["url"] == "http://127.0.0.1:9/hooks/in"
        assert "secret" not in json.dumps(entry.details).replace("has_secret", "")
        assert db.get_one(DeliveryChannel, world.recipient.organization_id).url == url
