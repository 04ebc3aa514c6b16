"""POST /v1/referrals with `"dry_run": true`: the consent gate's answer, and nothing stored but
its decision and audit entry; the same answer as a real POST of the same body would get."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from hub.api.models import IdempotencyRecord
from hub.audit.models import AuditEntry
from hub.consent.models import GateDecision
from hub.disclosures.models import Disclosure
from hub.outbox.models import OutboxMessage
from hub.referrals.models import Referral
from hub.reviews.models import Review
from tests.support.api import client_for
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World

# what the real POST answers, by the dry run's decision
REAL_STATUS = {"permit": 201, "review": 202, "deny": 422}


def _count(world: World, model: type) -> int:
    with world.runtime.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _stored(world: World) -> dict[str, int]:
    models = (Referral, OutboxMessage, Disclosure, IdempotencyRecord, Review)
    return {model.__name__: _count(world, model) for model in models}


NOTHING = {
    "Referral": 0,
    "OutboxMessage": 0,
    "Disclosure": 0,
    "IdempotencyRecord": 0,
    "Review": 0,
}


def _permit(world: World) -> tuple[str, dict[str, Any]]:
    """Sent, with legal_status withheld (the consent does not cover it)."""
    case_id = world.case()
    world.consent(case_id)
    return case_id, {}


def _review(world: World) -> tuple[str, dict[str, Any]]:
    """Held: health is a sensitive category; legal_status withheld."""
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    return case_id, {"categories": ["identity", "health", "legal_status"]}


def _deny(world: World) -> tuple[str, dict[str, Any]]:
    """No consent at all."""
    return world.case(), {}


def _excluded(world: World) -> tuple[str, dict[str, Any]]:
    """The person said "never to NGOs": a veto."""
    case_id = world.case()
    world.consent(case_id, exclusions={"organizations": [], "kinds": ["ngo"]})
    return case_id, {}


SCENARIOS = {"permit": _permit, "review": _review, "deny": _deny, "excluded": _excluded}
EXPECTED = {"permit": "permit", "review": "review", "deny": "deny", "excluded": "deny"}


def _dry(world: World, case_id: str, **overrides: Any) -> Any:
    return world.refer(case_id, dry_run=True, **overrides)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_dry_run_answers_what_the_real_post_then_does(world: World, scenario: str) -> None:
    case_id, overrides = SCENARIOS[scenario](world)
    dry = _dry(world, case_id, **overrides)
    assert dry.status_code == 200, dry.text
    answer = dry.json()
    assert answer["dry_run"] is True
    assert answer["decision"] == EXPECTED[scenario]
    assert _stored(world) == NOTHING

    real = world.refer(case_id, **overrides)
    assert real.status_code == REAL_STATUS[answer["decision"]], real.text
    body = real.json()
    if real.status_code == 422:
        assert body["code"] == "consent_denied"
        assert answer["sent_categories"] == []
        assert body["reasons"] == answer["reasons"]
    else:
        assert body["categories"] == answer["sent_categories"]
        assert body["withheld_categories"] == answer["withheld_categories"]
        assert body["reasons"] == answer["reasons"]


def test_a_withheld_category_is_named_with_its_reason(world: World) -> None:
    case_id, _ = _permit(world)
    answer = _dry(world, case_id).json()
    assert answer["sent_categories"] == ["contact", "identity", "psychosocial"]
    assert answer["withheld_categories"] == ["legal_status"]
    assert {"code": "category_not_covered", "categories": ["legal_status"]} in answer["reasons"]


def test_a_review_is_announced_with_its_trigger(world: World) -> None:
    case_id, overrides = _review(world)
    answer = _dry(world, case_id, **overrides).json()
    assert answer["decision"] == "review"
    assert answer["sent_categories"] == ["health", "identity"]
    assert {"code": "sensitive_category", "categories": ["health"]} in answer["reasons"]


def test_nothing_is_stored_but_the_gates_decision_and_its_audit_entry(world: World) -> None:
    case_id, _ = _permit(world)
    before = _count(world, AuditEntry)
    dry = world.refer(
        case_id, dry_run=True, headers=world.sender.headers | {"Idempotency-Key": "just-asking"}
    )
    assert dry.status_code == 200, dry.text
    assert _stored(world) == NOTHING
    with world.runtime.sessions() as db:
        decision = db.get_one(GateDecision, dry.json()["decision_id"])
        assert (decision.context, decision.outcome) == ("dry_run", "permit")
        entries = list(db.scalars(select(AuditEntry).where(AuditEntry.seq > before)))
    assert [e.action for e in entries] == ["consent.gate_decided"]
    assert entries[0].details["context"] == "dry_run"
    # the audit entry holds ids, codes and category names: no personal data, no note
    assert CANARY_NAME not in str(entries[0].details) and CANARY_NOTE not in str(dry.text)
    # a question needs no replay: the key is not remembered, and a real POST may use it
    real = world.refer(case_id, headers=world.sender.headers | {"Idempotency-Key": "just-asking"})
    assert real.status_code == 201, real.text


def test_a_refusal_is_not_recorded_as_an_attempt(world: World) -> None:
    case_id, _ = _deny(world)
    assert _dry(world, case_id).json()["decision"] == "deny"
    with world.runtime.sessions() as db:
        actions = set(db.scalars(select(AuditEntry.action)))
    assert "referral.refused" not in actions and "referral.created" not in actions


def test_the_same_validation_and_problems_as_a_real_post(world: World) -> None:
    case_id, _ = _permit(world)
    for field, value in [
        ("service_type", "haircut"),
        ("purpose", "marketing"),
        ("categories", ["identity", "shoe_size"]),
        ("urgency", "whenever"),
    ]:
        answer = _dry(world, case_id, **{field: value})
        assert (answer.status_code, answer.json()["code"]) == (422, "unknown_value")
        assert answer.json()["field"] == field
    foreign = _dry(world, case_id, headers=world.outsider.headers)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "not_found")
    itself = _dry(world, case_id, to_organization_id=world.sender.organization_id)
    assert (itself.status_code, itself.json()["code"]) == (422, "invalid_recipient")
    missing = world.api.post(
        "/v1/referrals",
        json={"case_id": case_id, "dry_run": True},
        headers=world.sender.headers,
    )
    assert missing.status_code == 422
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert _count(world, GateDecision) == 0


def test_the_same_scope_as_a_real_post(world: World) -> None:
    case_id, _ = _permit(world)
    reader = client_for(world.runtime, world.api, world.sender.organization_id, "referrals:read")
    answer = _dry(world, case_id, headers=reader.headers)
    assert answer.status_code == 403, answer.text
    anonymous = world.api.post("/v1/referrals", json=world.body(case_id, dry_run=True))
    assert anonymous.status_code == 401
    assert _count(world, GateDecision) == 0


def test_the_openapi_schema_documents_it(world: World) -> None:
    schema = world.api.get("/openapi.json").json()
    post = schema["paths"]["/v1/referrals"]["post"]
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/ReferralDryRun")
    dry_run = schema["components"]["schemas"]["ReferralDryRun"]
    assert dry_run["examples"][0]["decision"] in ("permit", "review", "deny")
    assert set(dry_run["required"]) >= {
        "decision",
        "sent_categories",
        "withheld_categories",
        "reasons",
    }
    create = schema["components"]["schemas"]["ReferralCreate"]
    assert "dry_run" in create["properties"]
    assert any(example.get("dry_run") for example in create["examples"])
