"""Every read by a recipient asks the consent gate and is accounted for.

`ROUTES` classifies every /v1 operation of the app by what it can answer about a case to an
organisation that does not own it. A route added without being classified here fails
`test_every_route_is_classified`; the others check each class on a world with canaries:
- GATED: a recipient's read that can carry the case's personal data. With the consent expired
  it asks the gate (a GateDecision with the recipient, purpose and context), carries no canary
  and records no disclosure; with the consent valid it carries the data and records one
  disclosure per read, tied to that decision.
- NO_CASE_DATA: a recipient may call it, but its answer is ids, codes, times and category names
  only (summaries): never a canary, never a disclosure, whatever the consent.
- OWNER_ONLY, NOT_A_CASE: another organisation's case, consent or delivery is 404 (or the
  scope refuses it); directories, agreements, audit checkpoints say nothing about a case.
The acceptance of a transfer (POST /v1/transfers/{id}/accept) releases the case file: it asks
the gate and accounts for it in hub.transfers.handover (tests/transfers/test_accept.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.clock import utcnow
from hub.consent.models import Consent, GateDecision
from hub.disclosures.models import Disclosure
from hub.runtime import Runtime
from tests.support import referral_world, transfer_world
from tests.support.api import client_for

GATED = {
    ("GET", "/v1/referrals/{referral_id}"),
    ("GET", "/v1/referrals/{referral_id}/events"),
    ("GET", "/v1/transfers/{transfer_id}"),
    ("GET", "/v1/transfers/{transfer_id}/events"),
}
NO_CASE_DATA = {
    ("GET", "/v1/referrals"),
    ("GET", "/v1/referrals/inbox"),
    # counts, statuses, recipients' names and hours: the sender's own figures
    ("GET", "/v1/referrals/figures"),
    # counts, codes and hours of the caller's tree of offices, small cells hidden
    ("GET", "/v1/reports/referrals"),
    ("GET", "/v1/transfers"),
    ("POST", "/v1/referrals/{referral_id}/acknowledge"),
    ("POST", "/v1/referrals/{referral_id}/accept"),
    ("POST", "/v1/referrals/{referral_id}/decline"),
    ("POST", "/v1/referrals/{referral_id}/start"),
    ("POST", "/v1/referrals/{referral_id}/complete"),
    ("POST", "/v1/transfers/{transfer_id}/reject"),
    # the recipient's confirmation that it erased what it received: ids and times back
    ("POST", "/v1/referrals/{referral_id}/erasure-confirmation"),
    # both parties see the attempts: ids, statuses, error codes
    ("GET", "/v1/referrals/{referral_id}/deliveries"),
    ("GET", "/v1/transfers/{transfer_id}/deliveries"),
    # transfer requests: the requester's own words and the request's ids, codes and times; the
    # owner's case (its id, whether it matched) is never shown to the requester
    ("POST", "/v1/transfer-requests"),
    ("GET", "/v1/transfer-requests"),
    ("GET", "/v1/transfer-requests/{request_id}"),
    ("POST", "/v1/transfer-requests/{request_id}/withdraw"),
}
# releases the case file through the gate, accounted for (see the module)
HANDOVER = {("POST", "/v1/transfers/{transfer_id}/accept")}
OWNER_ONLY = {
    ("POST", "/v1/cases"),
    ("GET", "/v1/cases"),
    ("GET", "/v1/cases/{case_id}"),
    ("PATCH", "/v1/cases/{case_id}"),
    ("DELETE", "/v1/cases/{case_id}"),
    ("POST", "/v1/cases/{case_id}/close"),
    ("POST", "/v1/cases/{case_id}/reopen"),
    ("GET", "/v1/cases/{case_id}/events"),
    ("POST", "/v1/cases/{case_id}/consents"),
    ("GET", "/v1/cases/{case_id}/consents"),
    ("GET", "/v1/consents/{consent_id}"),
    ("POST", "/v1/consents/{consent_id}/withdraw"),
    ("PUT", "/v1/consents/{consent_id}/evidence"),
    ("GET", "/v1/consents/{consent_id}/evidence"),
    ("GET", "/v1/consents/{consent_id}/withdrawal-preview"),
    ("GET", "/v1/cases/{case_id}/disclosures"),
    ("POST", "/v1/referrals"),
    ("POST", "/v1/referrals/{referral_id}/cancel"),
    ("POST", "/v1/referrals/{referral_id}/resubmit"),
    ("POST", "/v1/transfers"),
    ("POST", "/v1/transfers/{transfer_id}/cancel"),
    ("POST", "/v1/transfers/{transfer_id}/resubmit"),
    # the owner's answer to a transfer request
    ("POST", "/v1/transfer-requests/{request_id}/refuse"),
    # the sender's (and its consent officers') side: redeliveries and reviews of its requests
    ("POST", "/v1/referrals/{referral_id}/redeliver"),
    ("POST", "/v1/transfers/{transfer_id}/redeliver"),
    ("GET", "/v1/deliveries"),
    ("POST", "/v1/deliveries/{delivery_id}/redeliver"),
    ("GET", "/v1/reviews"),
    ("GET", "/v1/reviews/{review_id}"),
    ("POST", "/v1/reviews/{review_id}/approve"),
    ("POST", "/v1/reviews/{review_id}/deny"),
    ("POST", "/v1/reviews/{review_id}/return"),
    # the news the owning office owes a person after a disclosure on a legal basis
    ("GET", "/v1/person-notices"),
    ("GET", "/v1/person-notices/{notice_id}"),
    ("POST", "/v1/person-notices/{notice_id}/told"),
}
NOT_A_CASE = {
    ("GET", "/v1/organizations"),
    ("GET", "/v1/organizations/{organization_id}"),
    ("POST", "/v1/organizations"),
    ("GET", "/v1/agreements"),
    ("POST", "/v1/agreements"),
    ("POST", "/v1/agreements/{agreement_id}/revoke"),
    ("GET", "/v1/organizations/{organization_id}/clients"),
    ("POST", "/v1/organizations/{organization_id}/clients"),
    ("DELETE", "/v1/organizations/{organization_id}/clients/{client_id}"),
    ("GET", "/v1/organizations/{organization_id}/channel"),
    ("PUT", "/v1/organizations/{organization_id}/channel"),
    ("GET", "/v1/audit/checkpoint"),
    # the service directory: organisations' services, no one's case
    ("GET", "/v1/services"),
    ("GET", "/v1/services/{service_id}"),
    ("POST", "/v1/services"),
    ("PATCH", "/v1/services/{service_id}"),
    ("DELETE", "/v1/services/{service_id}"),
}
ROUTES = GATED | NO_CASE_DATA | HANDOVER | OWNER_ONLY | NOT_A_CASE


def test_every_route_is_classified(api: TestClient) -> None:
    found = {
        (method, route.path)
        for route in iter_route_contexts(api.app.routes)  # type: ignore[attr-defined]
        if (route.path or "").startswith("/v1")
        for method in (route.methods or ()) - {"HEAD", "OPTIONS"}
    }
    assert found == ROUTES, (
        f"classify these in ROUTES (and check them): {sorted(found - ROUTES)}; "
        f"gone: {sorted(ROUTES - found)}"
    )
    sets = (GATED, NO_CASE_DATA, HANDOVER, OWNER_ONLY, NOT_A_CASE)
    assert sum(len(s) for s in sets) == len(ROUTES), "a route is in two classes"


def _counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.sessions() as db:
        decisions = db.scalar(
            select(func.count()).select_from(GateDecision).where(GateDecision.context != "referral")
        )
        disclosures = db.scalar(select(func.count()).select_from(Disclosure))
    return int(decisions or 0), int(disclosures or 0)


def _expire(runtime: Runtime, consent_id: str) -> None:
    with runtime.sessions.begin() as db:
        row = db.get_one(Consent, consent_id)
        row.valid_until = row.valid_from


def _renew(runtime: Runtime, consent_id: str) -> None:
    with runtime.sessions.begin() as db:
        row = db.get_one(Consent, consent_id)
        row.valid_until = utcnow() + timedelta(days=30)


def _check_gated(
    runtime: Runtime,
    read: Callable[[], str],
    canaries: tuple[str, ...],
    consent_id: str,
    route: tuple[str, str],
) -> None:
    _expire(runtime, consent_id)
    decisions, disclosures = _counts(runtime)
    text = read()
    assert not any(c in text for c in canaries), route
    after = _counts(runtime)
    assert after[0] > decisions, f"{route} did not ask the gate"
    assert after[1] == disclosures, f"{route} recorded a disclosure for nothing"

    _renew(runtime, consent_id)
    decisions, disclosures = _counts(runtime)
    text = read()
    assert any(c in text for c in canaries), f"{route}: the check would prove nothing"
    after = _counts(runtime)
    assert after[0] > decisions, f"{route} did not ask the gate"
    assert after[1] == disclosures + 1, f"{route} released data without accounting for it"


def _get(api: TestClient, path: str, headers: dict[str, str]) -> str:
    response = api.get(path, headers=headers)
    assert response.status_code == 200, (path, response.text)
    return response.text


def test_a_recipients_reads_of_a_referral(runtime: Runtime, api: TestClient) -> None:
    world = referral_world.make_world(runtime, api)
    case_id = world.case()
    consent_id = world.consent(case_id)["id"]
    response = world.refer(case_id)
    assert response.status_code == 201, response.text
    referral_id = response.json()["id"]
    # the sender's words in the history (a cancelled referral carries no payload any more:
    # a second one is read for the payload)
    other = world.refer(case_id).json()["id"]
    cancel = "Canary reason: Quillandra left for Arlit"
    assert world.act(other, "cancel", world.sender, {"reason": cancel}).status_code == 200
    canaries = (referral_world.CANARY_NAME, referral_world.CANARY_NOTE, cancel)
    headers = world.recipient.headers
    reads = {
        ("GET", "/v1/referrals/{referral_id}"): f"/v1/referrals/{referral_id}",
        ("GET", "/v1/referrals/{referral_id}/events"): f"/v1/referrals/{other}/events",
    }
    for route, path in reads.items():
        assert route in GATED
        _check_gated(runtime, lambda p=path: _get(api, p, headers), canaries, consent_id, route)
    for path in (
        "/v1/referrals",
        "/v1/referrals?role=received",
        "/v1/referrals/inbox",
        "/v1/referrals/figures",
        "/v1/referrals?scope=tree",
        "/v1/reports/referrals?group_by=month,service_type,sex,age_band",
        f"/v1/referrals/{referral_id}/deliveries",
    ):
        _, disclosures = _counts(runtime)
        text = _get(api, path, headers)
        assert not any(c in text for c in canaries) and _counts(runtime)[1] == disclosures
    for action in ("acknowledge", "accept", "start"):
        _, disclosures = _counts(runtime)
        response = world.act(referral_id, action, world.recipient)
        assert response.status_code == 200, response.text
        assert not any(c in response.text for c in canaries), action
        assert _counts(runtime)[1] == disclosures, action
    # the case, its consents and disclosures stay the owner's
    for path in (
        f"/v1/cases/{case_id}",
        f"/v1/cases/{case_id}/consents",
        f"/v1/consents/{consent_id}",
        f"/v1/cases/{case_id}/disclosures",
    ):
        response = api.get(path, headers=headers)
        assert response.status_code in (403, 404), (path, response.status_code)
        assert not any(c in response.text for c in canaries), path


def test_a_recipients_reads_of_a_transfer(runtime: Runtime, api: TestClient) -> None:
    world = transfer_world.make_world(runtime, api)
    case_id = world.case()
    consent_id = world.consent(case_id)["id"]
    transfer_id = world.propose(case_id).json()["id"]
    second_case = world.case()
    second_consent = world.consent(second_case)["id"]
    other = world.propose(second_case, reason="Canary plan two")
    assert other.status_code == 201, other.text
    other_id = other.json()["id"]
    cancel = "Canary reason: the family moved"
    assert world.act(other_id, "cancel", world.sender, {"reason": cancel}).status_code == 200
    canaries = (transfer_world.CANARY_PLAN, transfer_world.CANARY_CONTACT, cancel)
    headers = world.ngo.headers
    reads = {
        ("GET", "/v1/transfers/{transfer_id}"): (f"/v1/transfers/{transfer_id}", consent_id),
        ("GET", "/v1/transfers/{transfer_id}/events"): (
            f"/v1/transfers/{other_id}/events",
            second_consent,
        ),
    }
    for route, (path, consent) in reads.items():
        assert route in GATED
        _check_gated(runtime, lambda p=path: _get(api, p, headers), canaries, consent, route)
    for path in (
        "/v1/transfers",
        "/v1/transfers?role=received",
        f"/v1/transfers/{transfer_id}/deliveries",
    ):
        _, disclosures = _counts(runtime)
        text = _get(api, path, headers)
        assert not any(c in text for c in canaries) and _counts(runtime)[1] == disclosures
    for path in (f"/v1/cases/{case_id}", f"/v1/consents/{consent_id}"):
        response = api.get(path, headers=headers)
        assert response.status_code in (403, 404), (path, response.status_code)


def test_a_requesters_reads_of_a_transfer_request(runtime: Runtime, api: TestClient) -> None:
    world = transfer_world.make_world(runtime, api)
    reference = "MRRM-NE-ASKED"
    case_id = world.case(reference)
    world.consent(case_id)
    asked = api.post(
        "/v1/transfer-requests",
        json={
            "owner_organization_id": world.sender.organization_id,
            "case_ref": reference,
            "reason": "we follow the family now",
        },
        headers=world.ngo.headers,
    )
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    canaries = (transfer_world.CANARY_NAME, case_id)
    headers = world.ngo.headers
    for path in (
        "/v1/transfer-requests",
        "/v1/transfer-requests?role=sent",
        f"/v1/transfer-requests/{request_id}",
    ):
        decisions, disclosures = _counts(runtime)
        text = _get(api, path, headers)
        assert not any(c in text for c in canaries), path
        assert _counts(runtime) == (decisions, disclosures), path
    withdrawn = api.post(f"/v1/transfer-requests/{request_id}/withdraw", json={}, headers=headers)
    assert withdrawn.status_code == 200 and case_id not in withdrawn.text


# the FHIR facade (docs/fhir.md), classified the same way
# the Patient (identity, contact) and the recipient's Task (the other categories as inputs)
FHIR_GATED = {("GET", "/fhir/R4/Patient/{case_id}"), ("GET", "/fhir/R4/Task/{referral_id}")}
FHIR_NO_CASE_DATA = {
    ("GET", "/fhir/R4/Task"),
    ("PUT", "/fhir/R4/Task/{referral_id}"),
    ("GET", "/fhir/R4/ServiceRequest"),
    ("GET", "/fhir/R4/ServiceRequest/{referral_id}"),
    # codes, dates and ids of the consent, narrowed to what was disclosed
    ("GET", "/fhir/R4/Consent/{consent_id}"),
}
FHIR_OWNER_ONLY = {("POST", "/fhir/R4"), ("POST", "/fhir/R4/"), ("POST", "/fhir/R4/Task")}
FHIR_NOT_A_CASE = {
    ("GET", "/fhir/R4/metadata"),
    ("GET", "/fhir/R4/Organization"),
    ("GET", "/fhir/R4/Organization/{organization_id}"),
    ("GET", "/fhir/R4/HealthcareService"),
    ("GET", "/fhir/R4/HealthcareService/{service_id}"),
}
FHIR_ROUTES = FHIR_GATED | FHIR_NO_CASE_DATA | FHIR_OWNER_ONLY | FHIR_NOT_A_CASE


def test_every_fhir_route_is_classified(api: TestClient) -> None:
    found = {
        (method, route.path)
        for route in iter_route_contexts(api.app.routes)  # type: ignore[attr-defined]
        if (route.path or "").startswith("/fhir/")
        for method in (route.methods or ()) - {"HEAD", "OPTIONS"}
    }
    assert found == FHIR_ROUTES, (
        f"classify these in FHIR_ROUTES: {sorted(found - FHIR_ROUTES)}; "
        f"gone: {sorted(FHIR_ROUTES - found)}"
    )


def test_a_recipients_fhir_reads(runtime: Runtime, api: TestClient) -> None:
    world = referral_world.make_world(runtime, api)
    case_id = world.case()
    consent_id = world.consent(case_id)["id"]
    referral_id = world.refer(case_id).json()["id"]
    reader = client_for(
        runtime, api, world.recipient.organization_id, "system/*.read system/Task.u"
    )
    canaries = (referral_world.CANARY_NAME, referral_world.CANARY_NOTE)

    def patient() -> str:
        response = api.get(f"/fhir/R4/Patient/{case_id}", headers=reader.headers)
        assert response.status_code in (200, 403), response.text
        return response.text

    _check_gated(runtime, patient, canaries[:1], consent_id, ("GET", "/fhir/R4/Patient"))
    # the other categories, as the recipient's Task's inputs (psychosocial: "sleep problems")
    _check_gated(
        runtime,
        lambda: _get(api, f"/fhir/R4/Task/{referral_id}", reader.headers),
        ("sleep problems",),
        consent_id,
        ("GET", "/fhir/R4/Task/{referral_id}"),
    )
    canaries = (*canaries, "sleep problems")
    for path in (
        "/fhir/R4/Task",
        "/fhir/R4/ServiceRequest",
        f"/fhir/R4/ServiceRequest?performer=Organization/{world.recipient.organization_id}",
        f"/fhir/R4/ServiceRequest/{referral_id}",
        f"/fhir/R4/Consent/{consent_id}",
    ):
        _, disclosures = _counts(runtime)
        text = _get(api, path, reader.headers)
        assert not any(c in text for c in canaries) and _counts(runtime)[1] == disclosures, path
    _, disclosures = _counts(runtime)
    moved = api.put(
        f"/fhir/R4/Task/{referral_id}",
        json={"resourceType": "Task", "id": referral_id, "status": "received", "intent": "order"},
        headers=reader.headers,
    )
    assert moved.status_code == 200, moved.text
    assert not any(c in moved.text for c in canaries) and _counts(runtime)[1] == disclosures
