"""A sender's retries through FHIR make one referral: conditional creates (`If-None-Exist`, on
`POST Task` and on a transaction Bundle's entries) and `Idempotency-Key`, as fhirpy clients
send them, on a live hub."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import MultipleResourcesFound

from hub.fhir import conditional, creating
from tests.fhir.conftest import FhirWorld
from tests.fhir.smart import valid
from tests.fhir.test_story import _bundle, _case, _service_request

SENDER_SYSTEM = "https://iom-agadez.example.org/fhir/referral-task"
FHIR_JSON = "application/fhir+json"


def _sent(world: FhirWorld) -> list[str]:
    """The ids of the sender's referrals, as /v1 lists them."""
    response = world.live.http.get(
        world.live.url("/v1/referrals?role=sent&limit=100"), headers=world.sender.headers()
    )
    assert response.status_code == 200, response.text
    return sorted(r["id"] for r in response.json()["items"])


def _client(world: FhirWorld, **headers: str) -> SyncFHIRClient:
    return SyncFHIRClient(
        world.live.url("/fhir/R4"),
        authorization=f"Bearer {world.sender.token()}",
        extra_headers=headers or None,
    )


def _task(world: FhirWorld, case_id: str, identifier: str | None) -> dict[str, Any]:
    request = {**_service_request(world, f"Patient/{case_id}"), "id": "sr"}
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "contained": [request],
        "focus": {"reference": "#sr"},
        "for": {"reference": f"Patient/{case_id}"},
        "owner": {"reference": f"Organization/{world.recipient.organization_id}"},
    }
    if identifier is not None:
        task["identifier"] = [{"system": SENDER_SYSTEM, "value": identifier}]
    return task


def _post(world: FhirWorld, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return world.live.http.post(
        world.live.url(path),
        json=body,
        headers={**world.sender.headers(), "Content-Type": FHIR_JSON, **headers},
    )


def test_if_none_exist_on_post_task_answers_the_first_referral(fhir_world: FhirWorld) -> None:
    world = fhir_world
    case_id, _ = _case(world)
    number = f"T-{uuid.uuid4().hex[:8]}"
    condition = f"identifier={SENDER_SYSTEM}|{number}"
    fhir = _client(world, **{"If-None-Exist": condition})

    first = fhir.resource("Task", **_task(world, case_id, number))
    first.save()
    assert first.id and first["status"] == "requested"
    # the retry, as a client whose answer was lost sends it again
    again = fhir.resource("Task", **_task(world, case_id, number))
    again.save()
    assert again.id == first.id
    assert _sent(world) == [first.id]

    # what the client sees on the wire: 201 then 200, the same Task and Location
    response = _post(
        world, "/fhir/R4/Task", _task(world, case_id, number), **{"If-None-Exist": condition}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    assert response.headers["location"].endswith(f"/fhir/R4/Task/{first.id}")
    assert valid(response.json())["id"] == first.id
    # fhirpy's own conditional create puts the search in the URL: the same answer
    by_search = world.sender.fhir().resource("Task", **_task(world, case_id, number))
    by_search.create(identifier=f"{SENDER_SYSTEM}|{number}")
    assert by_search.id == first.id
    assert _sent(world) == [first.id]
    # another identifier is another referral
    other = world.sender.fhir().resource("Task", **_task(world, case_id, number + "-2"))
    other.create(identifier=f"{SENDER_SYSTEM}|{number}-2")
    assert other.id != first.id
    assert _sent(world) == sorted([first.id, other.id])


def test_if_none_exist_matching_several_is_412_and_makes_nothing(fhir_world: FhirWorld) -> None:
    world = fhir_world
    case_id, _ = _case(world)
    number = f"T-{uuid.uuid4().hex[:8]}"
    plain = world.sender.fhir()
    made = []
    for _ in range(2):  # plain creates may reuse an identifier (FHIR lets them)
        task = plain.resource("Task", **_task(world, case_id, number))
        task.save()
        made.append(task.id)
    assert len(set(made)) == 2
    conditional_client = _client(world, **{"If-None-Exist": f"identifier={SENDER_SYSTEM}|{number}"})
    # fhirpy reads a 412 to a conditional create as what it is
    with pytest.raises(MultipleResourcesFound) as refused:
        conditional_client.resource("Task", **_task(world, case_id, number)).save()
    assert "multiple_matches" in str(refused.value)
    assert _sent(world) == sorted(made)
    response = _post(
        world,
        "/fhir/R4/Task",
        _task(world, case_id, number),
        **{"If-None-Exist": f"identifier={SENDER_SYSTEM}|{number}"},
    )
    assert response.status_code == 412
    assert valid(response.json())["issue"][0]["code"] == "conflict"
    # a condition the facade does not read is refused, not ignored
    response = _post(
        world,
        "/fhir/R4/Task",
        _task(world, case_id, number),
        **{"If-None-Exist": "subject=Patient/x"},
    )
    assert response.status_code == 400
    assert _sent(world) == sorted(made)


def _conditional_bundle(world: FhirWorld, reference: str, number: str) -> dict[str, Any]:
    bundle = _bundle(world, reference)
    task_entry = bundle["entry"][2]
    task_entry["resource"]["identifier"] = [{"system": SENDER_SYSTEM, "value": number}]
    task_entry["request"]["ifNoneExist"] = f"identifier={SENDER_SYSTEM}|{number}"
    return bundle


def test_a_conditional_transaction_retried_answers_the_first_referral(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    _, reference = _case(world)
    number = f"B-{uuid.uuid4().hex[:8]}"
    sender = world.sender.fhir()
    bundle = _conditional_bundle(world, reference, number)
    first = valid(sender.execute("", method="post", data=copy.deepcopy(bundle)))
    assert [e["response"]["status"] for e in first["entry"]][1:] == ["201 Created"] * 2
    referral_id = first["entry"][2]["response"]["location"].removeprefix("Task/")
    # a retry with fresh fullUrls (a client rebuilding its Bundle) finds the same referral
    again = valid(
        sender.execute("", method="post", data=_conditional_bundle(world, reference, number))
    )
    assert [e["response"]["status"] for e in again["entry"]][1:] == ["200 OK"] * 2
    assert again["entry"][2]["response"]["location"] == f"Task/{referral_id}"
    assert again["entry"][2]["resource"]["id"] == referral_id
    assert _sent(world) == [referral_id]
    # the identifier is the sender's own: the recipient's search of its Tasks does not match it
    # by it, and its Task says nothing of it
    theirs = world.recipient.fhir().reference("Task", referral_id).to_resource()
    assert number not in str(theirs.serialize())


def test_idempotency_key_replays_the_first_answer(fhir_world: FhirWorld) -> None:
    world = fhir_world
    case_id, reference = _case(world)
    key = f"retry-{uuid.uuid4().hex}"
    body = _task(world, case_id, None)  # no identifier: only the key keeps the retry one
    first = _post(world, "/fhir/R4/Task", body, **{"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    again = _post(world, "/fhir/R4/Task", body, **{"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"].startswith(FHIR_JSON)
    assert again.headers["location"] == first.headers["location"]
    assert valid(again.json()) == first.json()
    # the same key for another request is refused, as on /v1
    other = _post(
        world, "/fhir/R4/Task", {**body, "priority": "routine"}, **{"Idempotency-Key": key}
    )
    assert other.status_code == 422
    assert "idempotency_key_reused" in str(valid(other.json()))
    # fhirpy with the key on every request: the transaction retried is one referral too
    fhir = _client(world, **{"Idempotency-Key": f"bundle-{uuid.uuid4().hex}"})
    bundle = _bundle(world, reference)
    made = valid(fhir.execute("", method="post", data=bundle))
    replayed = valid(fhir.execute("", method="post", data=bundle))
    assert replayed == made
    task_id = first.json()["id"]
    bundle_task = made["entry"][2]["response"]["location"].removeprefix("Task/")
    assert _sent(world) == sorted([task_id, bundle_task])


def test_a_refusal_is_replayed_as_the_same_operation_outcome(fhir_world: FhirWorld) -> None:
    world = fhir_world
    _, reference = _case(world, consent=False)
    key = f"denied-{uuid.uuid4().hex}"
    bundle = _bundle(world, reference)
    first = _post(world, "/fhir/R4", bundle, **{"Idempotency-Key": key})
    assert first.status_code == 422
    again = _post(world, "/fhir/R4", bundle, **{"Idempotency-Key": key})
    assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"].startswith(FHIR_JSON)
    assert valid(again.json()) == first.json()
    assert _sent(world) == []


def test_a_condition_matches_only_the_callers_own_referrals(fhir_world: FhirWorld) -> None:
    world = fhir_world
    case_id, _ = _case(world)
    number = f"T-{uuid.uuid4().hex[:8]}"
    _client(world, **{"If-None-Exist": f"identifier={SENDER_SYSTEM}|{number}"}).resource(
        "Task", **_task(world, case_id, number)
    ).save()
    wanted = creating.from_task(
        _task(world, case_id, number), f"identifier={SENDER_SYSTEM}|{number}"
    )
    with world.live.runtime.sessions() as db:
        mine = conditional.existing(
            db, organization_id=world.sender.organization_id, request=wanted
        )
        theirs = conditional.existing(
            db, organization_id=world.recipient.organization_id, request=wanted
        )
    assert mine is not None and theirs is None
