"""POST /v1/referrals: the consent gate's three answers, validation, and idempotency."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from hub.audit.models import AuditEntry
from hub.cases.models import Case
from hub.cases.service import live_key
from hub.clock import utcnow
from hub.consent.models import GateDecision
from hub.crypto.envelope import decrypt
from hub.outbox.models import OutboxMessage
from hub.referrals import sending
from hub.referrals.models import Referral
from hub.reviews.models import Review
from tests.support.outbox_drain import drain, pending
from tests.support.referral_world import CANARY_NAME, World


def _referral(world: World, referral_id: str) -> Referral:
    with world.runtime.sessions() as db:
        return db.get_one(Referral, referral_id)


def _snapshot(world: World, referral: Referral) -> dict:
    with world.runtime.sessions() as db:
        key = live_key(db=db, keyring=world.runtime.keyring, case_id=referral.case_id)
    assert key is not None
    return sending.open_snapshot(key, referral)


def test_permitted_is_sent_with_only_the_consented_categories(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    before = utcnow()
    response = world.refer(case_id)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "sent"
    assert body["fhir_status"] == "requested"
    assert body["categories"] == ["contact", "identity", "psychosocial"]
    assert body["withheld_categories"] == ["legal_status"]
    assert body["consent_ids"] == [consent["id"]]
    assert body["allowed_actions"] == ["cancel"]
    deadline = timedelta(hours=world.runtime.policy.acknowledgement.normal.deadline_hours)
    due = datetime.fromisoformat(body["acknowledge_by"])
    assert before + deadline <= due <= utcnow() + deadline
    # ids and codes only in a POST answer: no note, no data
    assert CANARY_NAME not in response.text and "note" not in body

    referral = _referral(world, body["id"])
    snapshot = _snapshot(world, referral)
    assert sorted(snapshot) == ["contact", "identity", "psychosocial"]
    assert snapshot["identity"]["given_name"] == CANARY_NAME
    assert "legal_status" not in json.dumps(snapshot) and "health" not in snapshot
    assert referral.requested_categories == [
        "contact",
        "identity",
        "legal_status",
        "psychosocial",
    ]

    # delivery goes through the outbox; the inbox channel delivers at once
    assert [m.topic for m in pending(world.runtime)] == ["referral.deliver"]
    assert drain(world.runtime) == ["referral.deliver"]
    assert _referral(world, body["id"]).status == "delivered"


def test_snapshot_is_sealed_to_its_row(world: World) -> None:
    referral = _referral(world, world.sent())
    with world.runtime.sessions() as db:
        key = live_key(db=db, keyring=world.runtime.keyring, case_id=referral.case_id)
    assert key is not None and referral.snapshot_ciphertext is not None
    assert CANARY_NAME.encode() not in referral.snapshot_ciphertext
    with pytest.raises(Exception, match="does not authenticate"):
        decrypt(
            key, referral.snapshot_ciphertext, table="referrals", row="another", field="snapshot"
        )


def test_review_holds_it_and_opens_a_review(world: World) -> None:
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    response = world.refer(case_id, categories=["identity", "health"])

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending_review"
    assert body["sent_at"] is None and body["acknowledge_by"] is None
    assert "sensitive_category" in [r["code"] for r in body["reasons"]]
    with world.runtime.sessions() as db:
        review = db.get_one(Review, body["review_id"])
        assert (review.kind, review.object_id, review.status) == ("referral", body["id"], "pending")
        referral = db.get_one(Referral, body["id"])
        assert referral.snapshot_ciphertext is None
    # nothing leaves while held: no delivery queued, and the recipient does not see it
    assert pending(world.runtime, "referral.deliver") == []
    assert world.get(body["id"], world.recipient).status_code == 404


def test_denied_stores_nothing_but_the_attempt(world: World) -> None:
    case_id = world.case()  # no consent at all
    response = world.refer(case_id)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "consent_denied"
    assert "no_consent" in [r["code"] for r in problem["reasons"]]
    assert CANARY_NAME not in response.text
    with world.runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Referral)) == 0
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        decision = db.get_one(GateDecision, problem["decision_id"])
        assert (decision.outcome, decision.context) == ("deny", "referral")
        refused = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "referral.refused")
        ).one()
        assert refused.object_id == case_id
        assert refused.details["decision_id"] == decision.id
        assert "no_consent" in refused.details["codes"]


def test_unknown_vocabulary_values(world: World) -> None:
    case_id = world.case()
    world.consent(case_id)
    for field, value in [
        ("service_type", "haircut"),
        ("purpose", "marketing"),
        ("categories", ["identity", "shoe_size"]),
        ("urgency", "whenever"),
    ]:
        response = world.refer(case_id, **{field: value})
        assert (response.status_code, response.json()["code"]) == (422, "unknown_value")
        assert response.json()["field"] == field
    with world.runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(GateDecision)) == 0


def test_the_case_must_be_the_callers(world: World) -> None:
    case_id = world.case()
    world.consent(case_id)
    foreign = world.refer(case_id, headers=world.outsider.headers)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "not_found")
    unknown = world.refer("0" * 32)
    assert unknown.status_code == 404


def test_the_recipient_must_exist_and_not_be_the_sender(world: World) -> None:
    case_id = world.case()
    world.consent(case_id)
    unknown = world.refer(case_id, to_organization_id="f" * 32)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_value")
    itself = world.refer(case_id, to_organization_id=world.sender.organization_id)
    assert (itself.status_code, itself.json()["code"]) == (422, "invalid_recipient")


def test_an_erased_case_is_denied(world: World) -> None:
    case_id = world.case()
    world.consent(case_id)
    assert world.api.delete(f"/v1/cases/{case_id}", headers=world.sender.headers).status_code == 204
    response = world.refer(case_id)
    assert response.status_code == 422
    assert "case_erased" in [r["code"] for r in response.json()["reasons"]]
    with world.runtime.sessions() as db:
        assert db.get_one(Case, case_id).erased_at is not None


def test_same_key_same_body_gives_the_same_answer_and_one_referral(world: World) -> None:
    case_id = world.case()
    world.consent(case_id)
    headers = world.sender.headers | {"Idempotency-Key": "refer-once"}
    first = world.refer(case_id, headers=headers)
    again = world.refer(case_id, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    with world.runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Referral)) == 1
    other = world.refer(case_id, headers=headers, urgency="high")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


def test_a_denial_is_replayed_too(world: World) -> None:
    case_id = world.case()
    headers = world.sender.headers | {"Idempotency-Key": "refused"}
    first = world.refer(case_id, headers=headers)
    world.consent(case_id)  # consent recorded since: the same key still gives the same answer
    again = world.refer(case_id, headers=headers)
    assert first.status_code == again.status_code == 422
    assert first.json() == again.json()
    assert again.headers["content-type"].startswith("application/problem+json")
    with world.runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Referral)) == 0
    fresh = world.refer(case_id, headers=world.sender.headers | {"Idempotency-Key": "new"})
    assert fresh.status_code == 201
