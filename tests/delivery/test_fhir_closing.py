"""The closed loop with a partner on FHIR (served on 127.0.0.1 by the test): the hub pushes as
an intermediary (a filler-order based on the sender's request, a Task part of the sender's),
writes its own closing of a referral onto the partner's Task through the outbox, and reads the
partner's coded answers back (a decline reason, an outcome)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.clock import utcnow
from hub.connectors.fhir_bundle import DELIVERY_SYSTEM, FILLER_ORDER_SYSTEM, REFERRAL_SYSTEM
from hub.connectors.fhir_task import (
    DECLINE_REASON_SYSTEM,
    OUTCOME_SYSTEM,
    STATUS_REASON_SYSTEM,
    TASK_OUTPUT_SYSTEM,
)
from hub.connectors.http import OutboundClient
from hub.delivery import fhir_updates, polling, push
from hub.delivery.models import Delivery
from hub.outbox import service as outbox
from hub.referrals import deadlines
from hub.runtime import Runtime
from tests.support.api import Partner
from tests.support.fhir_server import FhirServer
from tests.support.outbox_drain import drain, pending
from tests.support.referral_world import World

TOKEN = "partner-fhir-bearer-token-0002"


def _fhir_channel(world: World, admin: Partner, server: FhirServer) -> None:
    response = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "fhir", "url": server.base_url, "secret": TOKEN},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


def _delivery(world: World, referral_id: str) -> Delivery:
    with world.runtime.sessions() as db:
        return db.scalars(select(Delivery).where(Delivery.referral_id == referral_id)).one()


def _pushed(
    world: World, admin: Partner, server: FhirServer
) -> tuple[str, str, dict[str, Any], str]:
    """A referral pushed: (referral id, its consent id, the Bundle, the partner's Task id)."""
    _fhir_channel(world, admin, server)
    case_id = world.case()
    consent = world.consent(case_id)
    response = world.refer(case_id)
    assert response.status_code == 201, response.text
    referral_id = str(response.json()["id"])
    assert drain(world.runtime) == ["referral.deliver"]
    delivery = _delivery(world, referral_id)
    assert delivery.remote_ref is not None
    return referral_id, consent["id"], server.bundles[-1], delivery.remote_ref.split("/")[1]


def _only(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    [found] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]
    return dict(found)


def _attempt(runtime: Runtime) -> list[str]:
    """One attempt of each due message, failures handled as the worker's task does."""
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
            outbox.release_for_retry(runtime, claimed, error=error, delay=0, via_broker=False)
            outcomes.append("retry")
        except outbox.PermanentError as exc:
            outbox.mark_dead(runtime, claimed, error=outbox.error_summary(exc))
            outcomes.append("dead")
    return outcomes


def _reason_codes(task: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["system"], c["code"]) for c in task["statusReason"]["coding"]]


# --- the intermediary pattern on the push ---


def test_the_push_is_a_filler_order_based_on_the_senders_request(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, _, bundle, task_id = _pushed(world, admin, fhir_server)
    Bundle.model_validate(bundle)
    service_request = _only(bundle, "ServiceRequest")
    task = _only(bundle, "Task")
    ServiceRequest.model_validate(service_request)
    Task.model_validate(task)

    senders_request = {"system": REFERRAL_SYSTEM, "value": referral_id}
    assert service_request["intent"] == "filler-order"
    assert service_request["identifier"] == [{"system": FILLER_ORDER_SYSTEM, "value": referral_id}]
    assert service_request["basedOn"] == [{"type": "ServiceRequest", "identifier": senders_request}]
    assert task["partOf"] == [{"type": "Task", "identifier": senders_request}]
    delivery = _delivery(world, referral_id)
    assert task["identifier"] == [{"system": DELIVERY_SYSTEM, "value": delivery.id}]

    # on the partner's server, the Task is based on the filler-order it holds
    stored = fhir_server.tasks[task_id]
    [based_on] = stored["basedOn"]
    kind, sr_id = based_on["reference"].split("/")
    assert kind == "ServiceRequest"
    assert fhir_server.resources["ServiceRequest"][sr_id]["intent"] == "filler-order"


# --- the hub's closing, written to the partner's Task ---


def test_a_withdrawn_consent_cancels_the_partners_task_with_its_reason(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, consent_id, _, task_id = _pushed(world, admin, fhir_server)
    fhir_server.set_task_status(task_id, "in-progress")  # the partner's own move, not yet read
    before = fhir_server.tasks[task_id]
    assert fhir_server.updates == []

    world.withdraw(consent_id)
    # the cascade runs on the outbox, and queues the write to the partner's Task there
    topics = drain(world.runtime)
    assert topics.index("consent.withdrawn") < topics.index(fhir_updates.TOPIC)
    assert topics.count(fhir_updates.TOPIC) == 1
    referral = world.get(referral_id, world.sender).json()
    assert (referral["status"], referral["status_reason"]) == ("cancelled", "consent_withdrawn")

    [update] = fhir_server.updates
    Task.model_validate(update)
    assert update["status"] == "cancelled"
    assert _reason_codes(update) == [(STATUS_REASON_SYSTEM, "consent_withdrawn")]
    assert update["statusReason"]["text"] == "The beneficiary withdrew consent"
    # what the partner had written stays; the write was conditional on the version read
    assert update["partOf"] == before["partOf"] and update["input"] == before["input"]
    assert fhir_server.if_match == [f'W/"{before["meta"]["versionId"]}"']
    assert fhir_server.authorization[-1] == f"Bearer {TOKEN}"

    delivery = _delivery(world, referral_id)
    assert delivery.remote_status == "cancelled"
    with world.runtime.sessions() as db:
        [entry] = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "delivery.partner_task_updated")
        )
    assert entry.details["reason_code"] == "consent_withdrawn"
    assert entry.details["result"] == "updated"
    # the cancelled referral is not read back again, and nothing is written twice
    assert polling.due(world.runtime) == []
    assert drain(world.runtime) == []
    assert len(fhir_server.updates) == 1


def test_the_senders_cancel_reaches_the_partners_task(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, _, _, task_id = _pushed(world, admin, fhir_server)
    fhir_server.set_task_status(task_id, "received")
    assert polling.poll_due(world.runtime) == 1
    drain(world.runtime)  # the sender's webhook-less notice of the acknowledgement

    response = world.act(referral_id, "cancel", world.sender, {"reason": "Case closed"})
    assert response.status_code == 200, response.text
    assert fhir_updates.TOPIC in drain(world.runtime)
    [update] = fhir_server.updates
    assert update["status"] == "cancelled"
    assert _reason_codes(update) == [(STATUS_REASON_SYSTEM, "cancelled_by_sender")]
    # the sender's own words are not sent: they may name the person
    assert "Case closed" not in str(update)


def test_a_referral_never_acknowledged_fails_on_the_partners_server_too(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, _, _, task_id = _pushed(world, admin, fhir_server)
    report = deadlines.run(world.runtime, now=utcnow() + timedelta(days=60))
    assert report.failed == [referral_id]
    drain(world.runtime)
    [update] = fhir_server.updates
    assert update["status"] == "failed"
    assert _reason_codes(update) == [(STATUS_REASON_SYSTEM, "not_acknowledged")]
    assert fhir_server.tasks[task_id]["status"] == "failed"


def test_a_partner_that_is_down_is_written_to_once_it_is_back(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, consent_id, _, task_id = _pushed(world, admin, fhir_server)
    fhir_server.down()
    world.withdraw(consent_id)
    assert _attempt(world.runtime) == ["done"]  # the cascade, which queues the write
    assert world.get(referral_id, world.sender).json()["status"] == "cancelled"
    assert "retry" in _attempt(world.runtime)  # the write (beside the withdrawal notice)
    assert fhir_server.updates == []
    assert [m.topic for m in pending(world.runtime)].count(fhir_updates.TOPIC) == 1

    fhir_server.up()
    _attempt(world.runtime)
    [update] = fhir_server.updates
    assert update["status"] == "cancelled"
    assert fhir_server.tasks[task_id]["status"] == "cancelled"


def test_a_task_the_partner_closed_first_is_left_as_it_is(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, _, _, task_id = _pushed(world, admin, fhir_server)
    # the partner rejected it; the sender cancels before the hub read that back
    fhir_server.set_task_status(task_id, "rejected", reason="No room")
    assert world.act(referral_id, "cancel", world.sender, {"reason": "x"}).status_code == 200
    drain(world.runtime)
    assert fhir_server.updates == []
    assert fhir_server.tasks[task_id]["status"] == "rejected"
    assert _delivery(world, referral_id).remote_status != "cancelled"


def test_a_referral_cancelled_while_its_push_travelled_closes_the_new_task(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    _fhir_channel(world, admin, fhir_server)
    referral_id = world.sent()
    [message] = pending(world.runtime, "referral.deliver")
    prepared = push.prepare(world.runtime, _delivery(world, referral_id).id)
    assert prepared is not None
    # the sender cancels between the gate's check and the partner's answer
    assert world.act(referral_id, "cancel", world.sender, {"reason": "x"}).status_code == 200
    assert pending(world.runtime, fhir_updates.TOPIC) == []  # no Task yet to write to
    with OutboundClient.from_settings(world.runtime.settings) as client:
        result = push.send(world.runtime, prepared, client)
    with world.runtime.sessions.begin() as db:
        push.finish(db, world.runtime, prepared, result)
    # the queued delivery finds it done when its turn comes
    topics = drain(world.runtime)
    assert message.topic in topics
    assert fhir_updates.TOPIC in topics
    [update] = fhir_server.updates
    assert update["status"] == "cancelled"
    assert _reason_codes(update) == [(STATUS_REASON_SYSTEM, "cancelled_by_sender")]


# --- the partner's coded answers read back ---


def test_a_completed_task_gives_its_outcome_code(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, _, _, task_id = _pushed(world, admin, fhir_server)
    fhir_server.set_task_status(
        task_id,
        "completed",
        output=[
            {
                "type": {"coding": [{"system": TASK_OUTPUT_SYSTEM, "code": "outcome"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": OUTCOME_SYSTEM, "code": "service_provided"}],
                    "text": "Six sessions held",
                },
            }
        ],
    )
    assert polling.poll_due(world.runtime) == 1
    referral = world.get(referral_id, world.sender).json()
    assert (referral["status"], referral["outcome_code"]) == ("completed", "service_provided")
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert events.json()["items"][-1]["text"] == "Six sessions held"


def test_an_outcome_code_outside_the_vocabulary_completes_with_its_words_only(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, _, _, task_id = _pushed(world, admin, fhir_server)
    fhir_server.set_task_status(
        task_id,
        "completed",
        output=[
            {
                "type": {"coding": [{"system": TASK_OUTPUT_SYSTEM, "code": "outcome"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": OUTCOME_SYSTEM, "code": "cured_forever"}],
                    "text": "Went well",
                },
            }
        ],
    )
    assert polling.poll_due(world.runtime) == 1
    referral = world.get(referral_id, world.sender).json()
    assert (referral["status"], referral["outcome_code"]) == ("completed", None)
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert events.json()["items"][-1]["text"] == "Went well"


def test_a_rejected_tasks_coded_reason_is_the_decline_reason_code(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, _, _, task_id = _pushed(world, admin, fhir_server)
    fhir_server.set_task_status(
        task_id,
        "rejected",
        reason="Full until March",
        reason_coding={"system": DECLINE_REASON_SYSTEM, "code": "no_capacity"},
    )
    assert polling.poll_due(world.runtime) == 1
    referral = world.get(referral_id, world.sender).json()
    assert (referral["status"], referral["decline_reason_code"]) == ("declined", "no_capacity")
    assert referral["status_reason"] == "declined_by_recipient"
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert events.json()["items"][-1]["text"] == "Full until March"
    # a declined referral is the partner's own answer: nothing is written back to it
    drain(world.runtime)
    assert fhir_server.updates == []
