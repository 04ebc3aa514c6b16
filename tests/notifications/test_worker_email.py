"""On a real worker (its scheduler, its outbox), with a real SMTP server on 127.0.0.1: a
follow-up deadline long past is escalated, the people the policy names are notified, and each
gets an email with a link and the code — no name, no note, no id of the request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hub.app import create_app
from hub.clock import utcnow
from hub.notifications.models import Notification
from hub.referrals.models import Referral
from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from hub.users.models import User
from tests.support.mailbox import Mailbox
from tests.support.people import person
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, make_world
from tests.support.workers import FAST_OUTBOX, HubProcess, wait_for


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture
def worker_settings(settings: Settings, broker_prefix: str, mailbox: Mailbox) -> Settings:
    """The workers' settings (tests/support/workers.py), with the test's mail server."""
    return load_settings(
        **{
            **settings.model_dump(exclude_defaults=True),
            **FAST_OUTBOX,
            "broker_key_prefix": broker_prefix,
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_from": "hub@example.org",
            "public_url": "https://hub.example.org",
        }
    )


@pytest.mark.worker
def test_an_escalation_notifies_and_emails_the_people_on_a_real_worker(
    outbox_runtime: Runtime, start_worker: Callable[..., HubProcess], mailbox: Mailbox
) -> None:
    runtime = outbox_runtime
    with TestClient(create_app(runtime)) as api:
        world = make_world(runtime, api)
        maker = person(runtime, world.sender.organization_id, "case_worker")
        admin = person(runtime, world.recipient.organization_id, "admin")
        with runtime.sessions.begin() as db:
            # the admin reads French
            db.execute(update(User).where(User.id == admin.id).values(language="fr"))
        case_id = world.case()
        world.consent(case_id)
        response = world.refer(case_id, headers=world.sender.acting_for(maker.id).headers)
        assert response.status_code == 201, response.text
        late = response.json()["id"]
        for action in ("acknowledge", "accept"):
            assert world.act(late, action, world.recipient).status_code == 200
    with runtime.sessions.begin() as db:
        # accepted long ago (normal: 336 h to start, escalated 72 h past): the clock moved
        db.execute(
            update(Referral).where(Referral.id == late).values(due_at=utcnow() - timedelta(days=5))
        )
    worker = start_worker("--beat")

    def emailed() -> bool:
        with runtime.sessions() as db:
            rows = list(db.scalars(select(Notification).where(Notification.object_id == late)))
        return len(rows) == 2 and all(row.emailed_at is not None for row in rows)

    wait_for(emailed, "the escalation's people notified and emailed", watch=worker)
    with runtime.sessions() as db:
        rows = list(db.scalars(select(Notification).where(Notification.object_id == late)))
    # escalated at once (the pass escalates first, so no overdue step): the maker and the
    # recipient's administrator (the sender has none)
    assert sorted((r.user_id, r.code, r.stage) for r in rows) == sorted(
        [(maker.id, "referral.escalation", "start"), (admin.id, "referral.escalation", "start")]
    )
    messages = mailbox.wait_for(2)
    recipients = sorted(to for _, tos in mailbox.envelopes for to in tos)
    assert maker.email in recipients and admin.email in recipients
    for message in messages:
        text = str(message["Subject"]) + message.get_content()
        assert "https://hub.example.org/console/notifications" in text
        assert "referral.escalation" in text
        assert CANARY_NAME not in text and CANARY_NOTE not in text and late not in text
        assert message["From"] == "hub@example.org"
    french = next(m for m in messages if m["To"] == admin.email)
    assert "requiert votre attention" in str(french["Subject"])
