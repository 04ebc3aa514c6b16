"""An organisation without a system of its own (no webhook: on the inbox) that held an erased
case's data is told through its people: a notification to its case workers and administrators,
in ids and codes (the case's id, why), shown in the console's notifications page in English and
French; one on a webhook gets the pushed notice and no notification; the case's owner and the
other roles are not told."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.clock import clock
from hub.notifications.models import Notification
from hub.policy.retention import Period
from hub.retention import service
from hub.runtime import Runtime
from tests.retention.support import audit_of, close
from tests.support.api import Partner
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.people import person, sign_in
from tests.support.referral_world import CANARY_NAME, World
from tests.support.webhook_receiver import WebhookReceiver


def _told(runtime: Runtime, case_id: str) -> set[tuple[str, str, str | None]]:
    with runtime.sessions() as db:
        rows = db.scalars(
            select(Notification).where(
                Notification.object_type == "case", Notification.object_id == case_id
            )
        )
        return {(n.user_id, n.code, n.stage) for n in rows}


def _shared(world: World) -> tuple[str, str]:
    """A case whose contact details went to the recipient: pushed to its webhook, or read from
    its inbox (either is a disclosure)."""
    case_id = world.case()
    world.consent(case_id)
    referral = world.refer(case_id, categories=["contact"])
    assert referral.status_code == 201, referral.text
    drain(world.runtime)
    read = world.get(referral.json()["id"], world.recipient)
    assert read.status_code == 200 and read.json()["payload"], read.text
    return case_id, referral.json()["id"]


def test_the_people_of_an_inbox_holder_are_told_of_an_erasure(
    world: World, api: TestClient
) -> None:
    runtime = world.runtime
    recipient = world.recipient.organization_id
    worker = person(runtime, recipient, "case_worker")
    admin = person(runtime, recipient, "admin")
    officer = person(runtime, recipient, "consent_officer")
    owner_worker = person(runtime, world.sender.organization_id, "case_worker")
    case_id, _ = _shared(world)
    unshared = world.case()
    for erased in (case_id, unshared):
        response = world.api.delete(f"/v1/cases/{erased}", headers=world.sender.headers)
        assert response.status_code == 204, response.text
    drain(runtime)

    assert _told(runtime, case_id) == {
        (worker.id, "case.erased", "request"),
        (admin.id, "case.erased", "request"),
    }
    assert _told(runtime, unshared) == set()  # nobody held its data
    assert officer.id not in {u for u, _, _ in _told(runtime, case_id)}
    assert owner_worker.id not in {u for u, _, _ in _told(runtime, case_id)}
    [sent] = [e for e in audit_of(runtime, case_id) if e.action == "case.erasure_notice_sent"]
    assert (sent.details["pushed"], sent.details["people_told"]) == (False, True)

    sign_in(api, worker)
    listing = api.get("/console/notifications")
    assert listing.status_code == 200
    assert (
        "A case whose data you received was erased at the person's request: "
        "erase your own copies" in listing.text
    )
    assert case_id in listing.text and CANARY_NAME not in listing.text
    french = api.get("/console/notifications?lang=fr")
    assert (
        "Un dossier dont vous avez reçu des données a été effacé à la demande de la personne"
        in french.text
    )


def test_a_purge_by_retention_says_so_and_a_webhook_holder_gets_no_notification(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    runtime = world.runtime
    worker = person(runtime, world.recipient.organization_id, "case_worker")
    case_id, referral_id = _shared(world)
    closed_at = close(world, case_id, "goals_met", **{referral_id: "keep"})

    def purge(rt: Runtime) -> None:
        assert service.run(rt).purged == [case_id]
        drain(rt)

    run_at(purge, runtime, Period(months=60).after(closed_at) + timedelta(minutes=1))
    clock.reset()
    assert _told(runtime, case_id) == {(worker.id, "case.erased", "retention")}

    # the same at a holder on a webhook: the notice is pushed, its people are not notified
    hooked = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "webhook", "url": receiver.url},
        headers=admin.headers,
    )
    assert hooked.status_code == 200, hooked.text
    second, _ = _shared(world)
    assert world.api.delete(f"/v1/cases/{second}", headers=world.sender.headers).status_code == 204
    drain(runtime)
    assert _told(runtime, second) == set()
    assert any(b'"case.erased"' in r.body for r in receiver.snapshot())
