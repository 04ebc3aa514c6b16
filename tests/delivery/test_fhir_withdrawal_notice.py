"""A consent withdrawn under a referral a FHIR partner already acknowledged: the hub does not
cancel it (closing is the recipient's move), but writes the withdrawal onto the partner's Task
through the outbox (`businessStatus` coded `consent_withdrawn`, a note without personal data,
its status untouched), once; the facade's Task says the same."""

from __future__ import annotations

from fhir.resources.R4B.task import Task
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.connectors.fhir_task import STATUS_REASON_SYSTEM, WITHDRAWAL_NOTE
from hub.delivery import fhir_updates, polling
from tests.delivery.test_fhir_closing import _attempt, _pushed
from tests.fhir.smart import valid
from tests.support.api import Partner, client_for
from tests.support.fhir_server import FhirServer
from tests.support.outbox_drain import drain
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World

WITHDRAWN = {"system": STATUS_REASON_SYSTEM, "code": "consent_withdrawn"}


def _acknowledged(world: World, admin: Partner, server: FhirServer) -> tuple[str, str, str]:
    referral_id, consent_id, _, task_id = _pushed(world, admin, server)
    server.set_task_status(task_id, "received")
    assert polling.poll_due(world.runtime) == 1
    drain(world.runtime)
    assert world.get(referral_id, world.sender).json()["status"] == "acknowledged"
    return referral_id, consent_id, task_id


def test_the_partners_acknowledged_task_is_told_not_closed(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, consent_id, task_id = _acknowledged(world, admin, fhir_server)
    before = fhir_server.tasks[task_id]
    world.withdraw(consent_id)
    topics = drain(world.runtime)
    assert topics.count(fhir_updates.NOTICE_TOPIC) == 1
    assert fhir_updates.TOPIC not in topics  # nothing closes it
    assert world.get(referral_id, world.sender).json()["status"] == "acknowledged"

    [update] = fhir_server.updates
    Task.model_validate(update)
    assert update["status"] == "received"  # the partner's, left as it is
    assert WITHDRAWN in update["businessStatus"]["coding"]
    assert [n["text"] for n in update["note"]] == [WITHDRAWAL_NOTE]
    assert CANARY_NAME not in str(update) and CANARY_NOTE not in str(update)
    # what the partner had written stays; the write was conditional on the version read
    assert update["partOf"] == before["partOf"] and update["input"] == before["input"]
    assert fhir_server.if_match[-1] == f'W/"{before["meta"]["versionId"]}"'
    with world.runtime.sessions() as db:
        [entry] = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "delivery.partner_task_noted")
        )
    assert (entry.details["code"], entry.details["result"]) == ("consent_withdrawn", "updated")

    # once: nothing more to write, and a read-back of the Task moves nothing
    assert drain(world.runtime) == []
    assert polling.poll_due(world.runtime) <= 1
    drain(world.runtime)
    assert len(fhir_server.updates) == 1
    assert world.get(referral_id, world.sender).json()["status"] == "acknowledged"

    # the facade's Task says the same, to both parties, status untouched
    for org in (world.recipient.organization_id, world.sender.organization_id):
        reader = client_for(world.runtime, world.api, org, "system/Task.rs")
        for path in (f"/fhir/R4/Task/{referral_id}", f"/fhir/R4/Task?_id={referral_id}"):
            found = valid(world.api.get(path, headers=reader.headers).json())
            task = found["entry"][0]["resource"] if found["resourceType"] == "Bundle" else found
            assert task["status"] == "received", path
            assert WITHDRAWN in task["businessStatus"]["coding"], path
            assert [n["text"] for n in task["note"]] == [WITHDRAWAL_NOTE], path


def test_a_partner_that_is_down_is_told_once_it_is_back(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    _, consent_id, task_id = _acknowledged(world, admin, fhir_server)
    fhir_server.down()
    world.withdraw(consent_id)
    for _ in range(3):
        _attempt(world.runtime)
    assert fhir_server.updates == []
    fhir_server.up()
    for _ in range(3):
        _attempt(world.runtime)
    [update] = fhir_server.updates
    assert WITHDRAWN in update["businessStatus"]["coding"]
    assert fhir_server.tasks[task_id]["status"] == "received"


def test_a_referral_the_withdrawal_cancelled_is_not_told_twice(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    referral_id, consent_id, _, _ = _pushed(world, admin, fhir_server)
    world.withdraw(consent_id)
    topics = drain(world.runtime)
    assert fhir_updates.TOPIC in topics and fhir_updates.NOTICE_TOPIC not in topics
    [update] = fhir_server.updates
    assert update["status"] == "cancelled"
    assert "businessStatus" not in update and "note" not in update
    reader = client_for(world.runtime, world.api, world.recipient.organization_id, "system/Task.r")
    task = valid(world.api.get(f"/fhir/R4/Task/{referral_id}", headers=reader.headers).json())
    assert task["status"] == "cancelled" and "note" not in task
    assert [c["code"] for c in task["businessStatus"]["coding"]] == ["cancelled"]
