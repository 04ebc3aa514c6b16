"""Searches of ServiceRequests as fhirpy makes them (`requester`, `performer`, `status`,
`_lastUpdated`, `_count` with paging), each party's own only; and the Consent read, its tenant
condition in the query."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound
from sqlalchemy import select

from hub.consent.models import Consent
from tests.fhir.conftest import FhirWorld
from tests.fhir.smart import valid
from tests.fhir.test_story import _bundle, _case

FAR_PAST = "ge2020-01-01T00:00:00Z"
FAR_FUTURE = "gt2100-01-01T00:00:00Z"


def _made(world: FhirWorld, count: int) -> list[str]:
    made = []
    for _ in range(count):
        _, reference = _case(world)
        answer = world.sender.fhir().execute("", method="post", data=_bundle(world, reference))
        made.append(answer["entry"][2]["response"]["location"].removeprefix("Task/"))
    return made


def test_service_requests_searched_by_each_party(fhir_world: FhirWorld) -> None:
    world = fhir_world
    made = _made(world, 3)
    sender_org = f"Organization/{world.sender.organization_id}"
    recipient_org = f"Organization/{world.recipient.organization_id}"
    for client in (world.sender.fhir(), world.recipient.fhir()):
        requests = client.resources("ServiceRequest")
        found = (
            requests.search(requester=sender_org, performer=recipient_org, status="active")
            .search(_lastUpdated=FAR_PAST)
            .fetch_all()
        )
        assert sorted(r.id for r in found) == sorted(made)
        for resource in found:
            valid(resource.serialize())
            assert resource["status"] == "active"
        assert requests.search(status="completed").fetch_all() == []
        assert requests.search(_lastUpdated=FAR_FUTURE).fetch_all() == []
        assert requests.search(performer=sender_org).fetch_all() == []
    # the outsider names the parties: it still finds nothing of theirs
    outsider = world.outsider.fhir().resources("ServiceRequest")
    assert outsider.search(requester=sender_org).fetch_all() == []
    assert outsider.fetch_all() == []

    # a decline revokes the request; the status search follows it
    recipient = world.recipient.fhir()
    task = recipient.reference("Task", made[0]).to_resource()
    task["status"] = "rejected"
    task["statusReason"] = {"text": "No place"}
    task.save()
    revoked = recipient.resources("ServiceRequest").search(status="revoked").fetch_all()
    assert [r.id for r in revoked] == [made[0]]
    # an unknown status is refused, not ignored
    with pytest.raises(OperationOutcome) as refused:
        recipient.resources("ServiceRequest").search(status="draft-ish").fetch_all()
    assert "unknown_value" in str(refused.value)


def test_service_requests_page_by_count(fhir_world: FhirWorld) -> None:
    world = fhir_world
    made = _made(world, 3)

    async def fetch() -> list[Any]:
        client = world.recipient.fhir_async()
        return list(await client.resources("ServiceRequest").search(_count=1).fetch_all())

    found = asyncio.run(fetch())
    assert [r.id for r in found] == made  # oldest change first, each once
    page = world.live.http.get(
        world.live.url("/fhir/R4/ServiceRequest?_count=2"), headers=world.recipient.headers()
    )
    bundle = valid(page.json())
    assert len(bundle["entry"]) == 2
    assert [link["relation"] for link in bundle["link"]] == ["self", "next"]


def test_a_consent_read_only_by_its_owner_and_the_recipients_relying_on_it(
    fhir_world: FhirWorld,
) -> None:
    world = fhir_world
    case_id, reference = _case(world)
    with world.live.runtime.sessions() as db:
        consent_id = db.scalars(select(Consent.id).where(Consent.case_id == case_id)).one()
    # before any referral rests on it, the recipient does not see it
    with pytest.raises(ResourceNotFound):
        world.recipient.fhir().reference("Consent", consent_id).to_resource()
    owner_view = world.sender.fhir().reference("Consent", consent_id).to_resource()
    assert valid(owner_view.serialize())["id"] == consent_id
    world.sender.fhir().execute("", method="post", data=_bundle(world, reference))
    seen = world.recipient.fhir().reference("Consent", consent_id).to_resource()
    assert valid(seen.serialize())["provision"]["actor"][0]["reference"]["reference"] == (
        f"Organization/{world.recipient.organization_id}"
    )
    with pytest.raises(ResourceNotFound):
        world.outsider.fhir().reference("Consent", consent_id).to_resource()
