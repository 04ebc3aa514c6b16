"""A referral names the service it is for: one of the recipient's, of the referral's type;
a full service, or one that does not take the subject's age or sex, is refused unless the
sender says why (the override is recorded on the referral, sealed, and audited by code)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.cases.models import Case
from hub.cases.service import owner_for_case
from hub.crypto import service as keys
from hub.referrals.models import Referral
from hub.referrals.sending import open_override_reason
from hub.runtime import Runtime
from tests.support.referral_world import World, make_world

WOMEN_ADULTS = {
    "service_type": "psychosocial_support",
    "name": "PSS women",
    "eligibility": {"age_min": 18, "sexes": ["female"]},
}


def _service(world: World, by: Any = None, **fields: Any) -> str:
    body = WOMEN_ADULTS | fields
    response = world.api.post("/v1/services", json=body, headers=(by or world.recipient).headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _referable(world: World, birth_date: str = "1990-04-02") -> str:
    case_id = world.case(birth_date=birth_date)
    world.consent(case_id)
    return case_id


def test_a_referral_to_a_service_that_takes_the_subject(runtime: Runtime, api: TestClient) -> None:
    world = make_world(runtime, api)
    service_id = _service(world)
    response = world.refer(_referable(world), service_id=service_id)
    assert response.status_code == 201, response.text
    assert response.json()["service_id"] == service_id
    assert response.json()["service_override"] is None
    # the recipient sees which of its services the referral is for
    read = world.get(response.json()["id"], world.recipient).json()
    assert read["service_id"] == service_id


def test_the_service_must_be_the_recipients_and_of_the_type(
    runtime: Runtime, api: TestClient
) -> None:
    world = make_world(runtime, api)
    case_id = _referable(world)
    theirs = _service(world, by=world.outsider)
    shelter = _service(world, service_type="shelter", name="Shelter")
    for service_id in (theirs, shelter, "no-such-service"):
        refused = world.refer(case_id, service_id=service_id, override_reason="please")
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "invalid_service"


def test_full_or_not_eligible_is_refused_without_a_reason(
    runtime: Runtime, api: TestClient
) -> None:
    world = make_world(runtime, api)
    adult = _referable(world)
    child = _referable(world, birth_date="2015-01-01")
    full = _service(world, capacity="full", name="Full")
    adults_only = _service(world)
    men_only = _service(world, eligibility={"sexes": ["male"]}, name="Men")
    cases = [
        (adult, full, "service_full", ["service_full"]),
        (child, adults_only, "service_not_eligible", ["age_not_served"]),
        (adult, men_only, "service_not_eligible", ["sex_not_served"]),
    ]
    with runtime.sessions() as db:
        before = db.query(Referral).count()
    for case_id, service_id, code, reasons in cases:
        refused = world.refer(case_id, service_id=service_id)
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["code"] == code and problem["reasons"] == reasons
        assert refused.headers["content-type"].startswith("application/problem+json")
        # the subject's age and sex are not in the answer
        assert "2015" not in refused.text and "female" not in refused.text
        dry = world.refer(case_id, service_id=service_id, dry_run=True)
        assert dry.status_code == 422 and dry.json()["code"] == code
    with runtime.sessions() as db:
        assert db.query(Referral).count() == before


def test_an_override_is_recorded_sealed_and_audited(runtime: Runtime, api: TestClient) -> None:
    world = make_world(runtime, api)
    subject = _referable(world)  # an adult, referred to a children's service that is full
    full_children = _service(world, capacity="full", eligibility={"age_max": 17})
    reason = "Only PSS in Arlit; the focal point agreed by phone"
    response = world.refer(subject, service_id=full_children, override_reason=reason)
    assert response.status_code == 201, response.text
    referral_id = response.json()["id"]
    assert response.json()["service_override"] == ["service_full", "age_not_served"]
    # the sender and the recipient (with the payload, as the gate permits) read why
    assert world.get(referral_id, world.sender).json()["override_reason"] == reason
    assert world.get(referral_id, world.recipient).json()["override_reason"] == reason
    assert world.get(referral_id, world.outsider).status_code == 404
    with runtime.sessions() as db:
        referral = db.get_one(Referral, referral_id)
        assert referral.override_reason_ciphertext is not None
        assert reason.encode() not in referral.override_reason_ciphertext
        key = keys.data_key(db=db, keyring=runtime.keyring, owner=owner_for_case(subject))
        assert open_override_reason(key, referral) == reason
        entry = db.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == referral_id,
                AuditEntry.action == "referral.service_overridden",
            )
        ).one()
        assert entry.details == {
            "service_id": full_children,
            "codes": ["service_full", "age_not_served"],
        }
        assert db.get(Case, subject) is not None
