"""The recipient's view of the other permitted categories through FHIR: `Task.input`, as the
pushed Bundle carries them, on the recipient's read of its Task, released by the consent gate
and accounted for like the `/v1` payload read; a withheld category's canary appears nowhere."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hub.connectors.fhir_bundle import DATA_CATEGORY_SYSTEM
from tests.fhir.conftest import FhirWorld
from tests.fhir.smart import valid
from tests.fhir.test_story import _bundle, _disclosures
from tests.support.consents import consent_body

PSYCHOSOCIAL = "Canary psychosocial: nightmares since the crossing"
# household: agreed and asked for, not consented: withheld
HOUSEHOLD = "Canary household: three children left in Zinder"
# contact: agreed, not consented: withheld (a Patient category)
PHONE = "+227 91 00 CANARY"


def _case(world: FhirWorld) -> str:
    http, headers = world.live.http, world.sender.headers()
    reference = f"MRRM-NE-{uuid.uuid4().hex[:8]}"
    body = {
        "external_ref": reference,
        "subject": {"birth_date": "1990-04-02", "sex": "female"},
        "data": {
            "identity": {"given_name": "Hadiza", "family_name": "Moussa"},
            "contact": {"phone": PHONE},
            "psychosocial": {"notes": PSYCHOSOCIAL},
            "household": {"notes": HOUSEHOLD},
        },
    }
    made = http.post(world.live.url("/v1/cases"), json=body, headers=headers)
    assert made.status_code == 201, made.text
    case_id = str(made.json()["id"])
    given = http.post(
        world.live.url(f"/v1/cases/{case_id}/consents"),
        json=consent_body(categories=["identity", "psychosocial"]),
        headers=headers,
    )
    assert given.status_code == 201, given.text
    return reference


def _inputs(task: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for item in task.get("input") or ():
        [coding] = item["type"]["coding"]
        assert coding["system"] == DATA_CATEGORY_SYSTEM
        found[coding["code"]] = json.loads(item["valueString"])
    return found


def test_the_recipients_task_carries_the_released_categories(fhir_world: FhirWorld) -> None:
    world = fhir_world
    reference = _case(world)
    bundle = _bundle(world, reference)
    bundle["entry"][1]["resource"]["orderDetail"] = [
        {"coding": [{"system": DATA_CATEGORY_SYSTEM, "code": c}]}
        for c in ("identity", "contact", "psychosocial", "household")
    ]
    answer = valid(world.sender.fhir().execute("", method="post", data=bundle))
    referral_id = answer["entry"][2]["response"]["location"].removeprefix("Task/")
    case_id = answer["entry"][0]["response"]["location"].removeprefix("Patient/")
    # made, the answer carries no data: the sender's own, and not released by a create
    assert PSYCHOSOCIAL not in json.dumps(answer)
    recipient = world.recipient.fhir()

    before = _disclosures(world, case_id)
    task = valid(recipient.reference("Task", referral_id).to_resource().serialize())
    assert _inputs(task) == {"psychosocial": {"notes": PSYCHOSOCIAL}}
    text = json.dumps(task)
    assert HOUSEHOLD not in text and PHONE not in text and "CANARY" not in text
    # one disclosure per read, of what the Task showed, by the FHIR channel
    after = _disclosures(world, case_id)
    assert len(after) == len(before) + 1
    assert (after[-1]["channel"], after[-1]["categories"]) == ("fhir", ["psychosocial"])
    assert after[-1]["referral_id"] == referral_id

    # the search, the sender's read and the Patient never carry them; the withheld canary is
    # nowhere in anything the recipient can read
    searched = recipient.resources("Task").search(_id=referral_id).fetch_all()
    assert [t.id for t in searched] == [referral_id] and "input" not in searched[0]
    sender_view = world.sender.fhir().reference("Task", referral_id).to_resource()
    assert "input" not in sender_view
    patient = recipient.reference("Patient", case_id).to_resource()
    for seen in (
        searched[0].serialize(),
        patient.serialize(),
        recipient.reference("ServiceRequest", referral_id).to_resource().serialize(),
    ):
        text = json.dumps(seen)
        assert HOUSEHOLD not in text and PSYCHOSOCIAL not in text and PHONE not in text
    # the sender's read and the search are no disclosure; the Task read and the Patient are two
    assert len(_disclosures(world, case_id)) == len(before) + 2


def test_no_release_no_input_and_no_disclosure(fhir_world: FhirWorld) -> None:
    world = fhir_world
    reference = _case(world)
    answer = world.sender.fhir().execute("", method="post", data=_bundle(world, reference))
    referral_id = answer["entry"][2]["response"]["location"].removeprefix("Task/")
    case_id = answer["entry"][0]["response"]["location"].removeprefix("Patient/")
    recipient = world.recipient.fhir()
    task = recipient.reference("Task", referral_id).to_resource()
    assert "psychosocial" in _inputs(task.serialize())
    # the recipient declines it: a closed referral releases nothing more
    task["status"] = "rejected"
    task["statusReason"] = {"text": "No place"}
    task.save()
    before = len(_disclosures(world, case_id))
    closed = valid(recipient.reference("Task", referral_id).to_resource().serialize())
    assert closed["status"] == "rejected" and "input" not in closed
    assert PSYCHOSOCIAL not in json.dumps(closed)
    assert len(_disclosures(world, case_id)) == before
