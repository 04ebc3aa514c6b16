"""POST /v1/transfers: within one IOM hierarchy without consent (audited); to anyone else through
the consent gate (permit 201, review 202, deny 422 with nothing stored); one open transfer per
case; the plan checked; Idempotency-Key."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.audit.models import AuditEntry
from hub.consent.models import GateDecision
from hub.reviews.models import Review
from hub.transfers.models import Transfer
from tests.support.transfer_world import (
    CANARY_CONTACT,
    CANARY_NAME,
    CANARY_PLAN,
    PURPOSE,
    World,
    ministry,
)

ALL = ["contact", "health", "identity", "legal_status", "psychosocial"]


def _audit(world: World, action: str) -> list[AuditEntry]:
    with world.runtime.sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _count(world: World, model: type) -> int:
    with world.runtime.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _no_plan(text: str) -> None:
    for value in (CANARY_PLAN, CANARY_CONTACT, CANARY_NAME):
        assert value not in text


def test_within_the_hierarchy_no_consent_is_needed_but_it_is_audited(world: World) -> None:
    # no consent recorded at all: IOM Agadez and IOM Niamey are one data controller
    case_id = world.case()
    response = world.propose(case_id, world.country)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "sent" and body["within_hierarchy"] is True
    assert body["categories"] == ALL and body["withheld_categories"] == []
    assert body["consent_ids"] == [] and body["decision_id"] is None and body["reasons"] == []
    assert body["allowed_actions"] == ["cancel"]
    _no_plan(response.text)
    assert "plan" not in body
    # the gate was not asked; the transfer is on record all the same
    assert _count(world, GateDecision) == 0
    [created] = _audit(world, "transfer.created")
    assert created.object_id == body["id"]
    assert created.details["within_hierarchy"] is True
    assert created.details["consent_required"] is False
    assert created.details["recipient_organization_id"] == world.country.organization_id
    # the country office sees it at once
    assert world.get(body["id"], world.country).json()["status"] == "sent"


def test_an_external_transfer_the_gate_permits_is_sent(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    response = world.propose(case_id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "sent" and body["within_hierarchy"] is False
    assert body["consent_ids"] == [consent["id"]]
    # every category the case holds was put to the gate; the uncovered ones are withheld
    assert body["categories"] == ["contact", "identity", "psychosocial"]
    assert body["withheld_categories"] == ["health", "legal_status"]
    assert {r["code"] for r in body["reasons"]} == {"category_not_covered"}
    _no_plan(response.text)
    with world.runtime.sessions() as db:
        decision = db.get_one(GateDecision, body["decision_id"])
        assert decision.purpose == PURPOSE and decision.outcome == "permit"
        assert sorted(decision.requested_categories) == ALL
        transfer = db.get_one(Transfer, body["id"])
        assert transfer.consent_ids == [consent["id"]]
        assert CANARY_PLAN.encode() not in transfer.plan_ciphertext
    [created] = _audit(world, "transfer.created")
    assert created.details["consent_required"] is True


def test_a_government_recipient_is_held_for_review(world: World) -> None:
    ministry_partner = ministry(world)
    case_id = world.case()
    world.consent(case_id, recipients={"organizations": [], "kinds": ["government"]})
    response = world.propose(case_id, ministry_partner)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending_review" and body["review_id"]
    assert "recipient_government" in {r["code"] for r in body["reasons"]}
    _no_plan(response.text)
    with world.runtime.sessions() as db:
        review = db.get_one(Review, body["review_id"])
        assert (review.kind, review.object_id) == ("transfer", body["id"])
    # not sent yet: the ministry does not see it
    assert world.get(body["id"], ministry_partner).status_code == 404
    listed = world.api.get("/v1/transfers", headers=ministry_partner.headers).json()
    assert listed["items"] == []


def test_a_sensitive_category_is_held_for_review(world: World) -> None:
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    response = world.propose(case_id)
    assert response.status_code == 202, response.text
    assert "sensitive_category" in {r["code"] for r in response.json()["reasons"]}


def test_denied_stores_nothing_but_the_attempt(world: World) -> None:
    case_id = world.case()
    world.consent(case_id, purposes=["psychosocial_support"])  # not for a transfer
    response = world.propose(case_id)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "consent_denied" and "transfer_status" not in body
    assert "no_consent" in {r["code"] for r in body["reasons"]}
    _no_plan(response.text)
    assert _count(world, Transfer) == 0
    with world.runtime.sessions() as db:
        decision = db.get_one(GateDecision, body["decision_id"])
        assert decision.outcome == "deny"
    [refused] = _audit(world, "transfer.refused")
    assert refused.object_id == case_id
    assert refused.details["decision_id"] == body["decision_id"]
    # no agreement with the other NGO: denied too
    world.consent(case_id)
    other = world.propose(case_id, world.outsider)
    assert (other.status_code, other.json()["code"]) == (422, "consent_denied")
    assert "no_agreement" in {r["code"] for r in other.json()["reasons"]}


def test_one_open_transfer_per_case(world: World) -> None:
    case_id = world.case()
    world.consent(case_id)
    first = world.propose(case_id).json()
    again = world.propose(case_id, world.country)
    assert (again.status_code, again.json()["code"]) == (409, "transfer_open")
    assert again.json()["transfer_id"] == first["id"]
    cancelled = world.act(first["id"], "cancel", world.sender, {"reason": "wrong office"})
    assert cancelled.status_code == 200, cancelled.text
    assert world.propose(case_id, world.country).status_code == 201
    assert _count(world, Transfer) == 2


def test_what_may_be_transferred(world: World) -> None:
    case_id = world.case()
    world.consent(case_id)
    problems = []
    for overrides, status, code in [
        ({"reason": "   "}, 422, "validation_error"),
        ({"open_needs": []}, 422, "validation_error"),
        ({"open_needs": ["shelter", " "]}, 422, "validation_error"),
        ({"open_needs": ["x" * 501]}, 422, "validation_error"),
        ({"risks": "x" * 2001}, 422, "validation_error"),
        ({"handover_contact": ""}, 422, "validation_error"),
    ]:
        response = world.propose(case_id, **overrides)
        assert (response.status_code, response.json()["code"]) == (status, code), overrides
        problems.append(response.text)
    missing = world.api.post(
        "/v1/transfers",
        json={"case_id": case_id, "to_organization_id": world.ngo.organization_id, "plan": {}},
        headers=world.sender.headers,
    )
    assert missing.status_code == 422
    fields = {tuple(e["loc"][-1:]) for e in missing.json()["errors"]}
    assert fields == {("reason",), ("open_needs",), ("risks",), ("handover_contact",)}
    to_self = world.propose(case_id, world.sender)
    assert (to_self.status_code, to_self.json()["code"]) == (422, "invalid_recipient")
    unknown = world.propose(case_id, "no-such-organisation")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_value")
    # another organisation's case (or none) is 404, and the sender's own case stays untouched
    foreign = world.propose(case_id, world.country, who=world.outsider)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "not_found")
    for text in [*problems, missing.text, foreign.text]:
        _no_plan(text)
    assert _count(world, Transfer) == 0


def test_idempotency(world: World) -> None:
    case_id = world.case()
    world.consent(case_id)
    key = {"Idempotency-Key": "transfer-1"}
    first = world.propose(case_id, headers=key)
    replay = world.propose(case_id, headers=key)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert _count(world, Transfer) == 1
    other_body = world.propose(case_id, world.country, headers=key)
    assert (other_body.status_code, other_body.json()["code"]) == (422, "idempotency_key_reused")

    # a refusal is remembered too, as a problem document
    denied_case = world.case()
    deny_key = {"Idempotency-Key": "transfer-2"}
    denied = world.propose(denied_case, headers=deny_key)
    denied_again = world.propose(denied_case, headers=deny_key)
    assert denied.status_code == denied_again.status_code == 422
    assert denied_again.json() == denied.json()
    assert denied_again.headers["content-type"].startswith("application/problem+json")
    assert len(_audit(world, "transfer.refused")) == 1

    # the moves take a key as well
    transfer_id = first.json()["id"]
    accept_key = {"Idempotency-Key": "accept-1"} | world.ngo.headers
    accepted = world.api.post(f"/v1/transfers/{transfer_id}/accept", json={}, headers=accept_key)
    accepted_again = world.api.post(
        f"/v1/transfers/{transfer_id}/accept", json={}, headers=accept_key
    )
    assert accepted.status_code == accepted_again.status_code == 200, accepted.text
    assert accepted_again.json() == accepted.json()
    assert len(_audit(world, "case.ownership_moved")) == 1
    _no_plan(accepted.text)
