"""The consent gate: one test per reason code, coverage and withholding, exclusions, agreements,
and storage. The child bands are in test_gate_children.py, the stateful model test in
test_gate_stateful.py."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.cases import service as cases
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent import gate, status
from hub.consent.gate import Outcome
from hub.consent.models import Consent, GateDecision
from hub.organizations import service as organizations
from hub.organizations.models import Organization
from hub.policy.loader import Policy
from hub.policy.rules import Effect, Reason, Trigger
from hub.runtime import Runtime
from tests.support.consent_rows import add_consent, withdraw
from tests.support.gate_world import World

ALL = ("identity", "contact", "psychosocial", "health")


@pytest.fixture
def gw(runtime: Runtime) -> World:
    world = World.make(runtime)
    world.agreement(world.ngo)
    return world


def consent(world: World, case_id: str, **kwargs: Any) -> Consent:
    with world.runtime.sessions.begin() as db:
        return add_consent(db, case_id, **kwargs)


def reason(decision: Any, code: Reason) -> dict[str, Any]:
    found = [r for r in decision.reasons if r["code"] == code]
    assert found, (code, decision.reasons)
    return dict(found[0])


def without_trigger(policy: Policy, name: str) -> Policy:
    triggers = policy.review_triggers
    current = getattr(triggers, name)
    off = current.model_copy(update={"enabled": False})
    return policy.model_copy(update={"review_triggers": triggers.model_copy(update={name: off})})


def test_permits_only_what_consent_and_agreement_both_cover(gw: World) -> None:
    case = gw.case()
    gw.agreement(gw.other_ngo, categories=["identity", "psychosocial"])
    given = consent(gw, case, categories=["identity", "contact", "psychosocial"])
    d = gw.decide(case, gw.ngo, ["identity", "contact", "health"])
    assert d.outcome is Outcome.permit
    assert d.permitted_categories == ("contact", "identity")
    assert d.withheld_categories == ("health",)
    assert d.consent_ids == (given.id,)
    assert d.codes == [Reason.category_not_covered]
    assert reason(d, Reason.category_not_covered)["categories"] == ["health"]


def test_category_not_covered_by_the_agreement_is_withheld_too(gw: World, runtime: Runtime) -> None:
    case = gw.case()
    gw.agreement(gw.other_ngo, categories=["identity"])
    consent(gw, case, categories=["identity", "contact"])
    policy = without_trigger(runtime.policy, "agreement_not_covering")
    d = gw.decide(case, gw.other_ngo, ["identity", "contact"], policy=policy)
    assert d.outcome is Outcome.permit
    assert d.permitted_categories == ("identity",)
    assert d.withheld_categories == ("contact",)
    assert reason(d, Reason.category_not_covered)["categories"] == ["contact"]


def test_unknown_value(gw: World) -> None:
    case = gw.case()
    consent(gw, case)
    d = gw.decide(case, gw.ngo, ["identity", "favourite colour"])
    assert d.outcome is Outcome.deny
    assert reason(d, Reason.unknown_value) == {
        "code": "unknown_value",
        "vocabulary": "data_categories",
        "count": 1,
    }
    assert d.permitted_categories == ()
    assert "favourite colour" not in json.dumps(d.reasons)
    d = gw.decide(case, gw.ngo, ["identity"], purpose="gossip")
    assert d.outcome is Outcome.deny
    assert reason(d, Reason.unknown_value)["vocabulary"] == "purposes"
    assert d.purpose == ""


def test_case_erased(gw: World, runtime: Runtime) -> None:
    case = gw.case()
    consent(gw, case)
    with runtime.sessions.begin() as db:
        cases.erase(db=db, actor="user:caseworker", case=db.get_one(Case, case))
    d = gw.decide(case, gw.ngo)
    assert d.outcome is Outcome.deny
    assert Reason.case_erased in d.codes


def test_nothing_permitted_when_consent_and_agreement_do_not_overlap(gw: World) -> None:
    case = gw.case()
    gw.agreement(gw.other_ngo, categories=["contact"])
    consent(gw, case, categories=["identity"])
    d = gw.decide(case, gw.other_ngo, ["identity", "contact"])
    assert d.outcome is Outcome.deny
    assert Reason.nothing_permitted in d.codes
    assert Reason.no_consent not in d.codes
    assert Reason.no_agreement not in d.codes
    assert d.permitted_categories == ()
    assert d.withheld_categories == ("contact", "identity")


def test_no_agreement(gw: World) -> None:
    case = gw.case()
    consent(gw, case, kinds=["un_agency"])
    d = gw.decide(case, gw.un)
    assert d.outcome is Outcome.deny
    assert d.codes[0] == Reason.no_agreement
    assert d.consent_ids == ()


@pytest.mark.parametrize(
    "agreement",
    [
        {"valid_until": utcnow() - timedelta(seconds=1)},
        {"valid_from": utcnow() + timedelta(days=1)},
        {"revoked_at": utcnow() - timedelta(hours=1)},
        {"from_id": "reverse"},
    ],
    ids=["expired", "not-yet-valid", "revoked", "other-direction"],
)
def test_an_agreement_not_in_force_from_owner_to_recipient_is_no_agreement(
    runtime: Runtime, agreement: dict[str, Any]
) -> None:
    world = World.make(runtime)
    if agreement.get("from_id") == "reverse":
        agreement = {"from_id": world.ngo}
        world.agreement(world.owner, **agreement)
    else:
        world.agreement(world.ngo, **agreement)
    case = world.case()
    consent(world, case)
    d = world.decide(case, world.ngo)
    assert d.outcome is Outcome.deny
    assert Reason.no_agreement in d.codes


def test_agreements_in_force_add_up_per_purpose(gw: World) -> None:
    case = gw.case()
    gw.agreement(gw.other_ngo, categories=["identity"])
    gw.agreement(gw.other_ngo, categories=["contact"])
    gw.agreement(gw.other_ngo, purposes=["medical_care"], categories=["health"])
    consent(gw, case, categories=list(ALL))
    d = gw.decide(case, gw.other_ngo, ["identity", "contact", "health"])
    assert d.permitted_categories == ("contact", "identity")
    assert reason(d, Reason.agreement_not_covering) == {
        "code": "agreement_not_covering",
        "categories": ["health"],
    }
    assert d.outcome is Outcome.review


def test_the_gate_reads_the_agreements_in_force_and_the_current_versions(gw: World) -> None:
    """The gate's one statement (`gate._read`) reads what `agreements_in_force` and
    `current_versions` read apart: the terms of the agreements in force from the case's owner to
    the recipient, and the case's latest consent versions with their withdrawals."""
    now = utcnow()
    gw.agreement(gw.ngo, purposes=["shelter"], categories=["contact"])
    gw.agreement(gw.ngo, categories=["health"], valid_from=now + timedelta(days=10))
    gw.agreement(gw.ngo, categories=["identity"], valid_until=now - timedelta(hours=1))
    gw.agreement(gw.ngo, categories=["identity"], revoked_at=now - timedelta(hours=1))
    gw.agreement(gw.owner, from_id=gw.ngo)  # the other way
    gw.agreement(gw.other_ngo)  # another recipient
    case_id = gw.case()
    with gw.runtime.sessions.begin() as db:
        first = add_consent(db, case_id)
        add_consent(db, case_id, supersedes=first, categories=["identity"])
        withdraw(db, add_consent(db, case_id, categories=["contact"]))
    with gw.runtime.sessions() as db:
        case = db.get_one(Case, case_id)
        recipient = db.get_one(Organization, gw.ngo)
        current = [(c.id, w) for c, w in status.current_versions(db=db, case_id=case_id)]
        assert len(current) == 2  # the superseded version is not current
        for at in (now, now + timedelta(days=11)):
            terms, versions = gate._read(db, case, recipient, at)
            in_force = organizations.agreements_in_force(
                db=db, from_id=gw.owner, to_id=gw.ngo, at=at
            )
            assert sorted(terms) == sorted((a.purposes, a.categories) for a in in_force)
            assert [(c.id, w) for c, w in versions] == current
        assert len(gate._read(db, case, recipient, now)[0]) == 2
        assert len(gate._read(db, case, recipient, now + timedelta(days=11))[0]) == 3


def test_agreement_not_covering_the_purpose(gw: World) -> None:
    case = gw.case()
    consent(gw, case, purposes=["legal_assistance"])
    d = gw.decide(case, gw.ngo, ["identity"], purpose="legal_assistance")
    assert d.outcome is Outcome.deny
    assert reason(d, Reason.agreement_not_covering)["purpose"] == "legal_assistance"
    assert Reason.nothing_permitted in d.codes


def test_agreement_not_covering_a_category_asks_for_review(gw: World, runtime: Runtime) -> None:
    case = gw.case()
    gw.agreement(gw.other_ngo, categories=["identity"])
    consent(gw, case, categories=["identity", "contact"])
    d = gw.decide(case, gw.other_ngo, ["identity", "contact"])
    assert d.outcome is Outcome.review
    assert d.permitted_categories == ("identity",)
    assert reason(d, Reason.agreement_not_covering)["categories"] == ["contact"]


def test_no_consent(gw: World) -> None:
    case = gw.case()
    d = gw.decide(case, gw.ngo)
    assert d.outcome is Outcome.deny
    assert Reason.no_consent in d.codes
    assert Reason.nothing_permitted in d.codes


def test_a_consent_not_yet_valid_does_not_permit(gw: World) -> None:
    case = gw.case()
    consent(gw, case, valid_from=utcnow() + timedelta(days=2))
    d = gw.decide(case, gw.ngo)
    assert d.outcome is Outcome.deny
    assert Reason.no_consent in d.codes


def test_consent_withdrawn(gw: World) -> None:
    case = gw.case()
    given = consent(gw, case)
    assert gw.decide(case, gw.ngo).outcome is Outcome.permit
    with gw.runtime.sessions.begin() as db:
        withdraw(db, db.get_one(Consent, given.id))
    d = gw.decide(case, gw.ngo)
    assert d.outcome is Outcome.deny
    assert reason(d, Reason.consent_withdrawn)["consent_ids"] == [given.id]
    assert d.permitted_categories == () and d.consent_ids == ()
    # a recorded withdrawal is final: asking about an earlier instant does not bring it back
    earlier = gw.decide(case, gw.ngo, at=utcnow() - timedelta(seconds=30))
    assert earlier.outcome is Outcome.deny


def test_a_new_consent_after_a_withdrawal_permits_again(gw: World) -> None:
    case = gw.case()
    old = consent(gw, case)
    with gw.runtime.sessions.begin() as db:
        withdraw(db, db.get_one(Consent, old.id))
    new = consent(gw, case, categories=["identity"])
    d = gw.decide(case, gw.ngo)
    assert d.outcome is Outcome.permit
    assert d.consent_ids == (new.id,)
    assert d.permitted_categories == ("identity",)
    assert Reason.consent_withdrawn not in d.codes


def test_consent_expired(gw: World) -> None:
    case = gw.case()
    given = consent(gw, case, valid_until=utcnow() + timedelta(days=30))
    assert gw.decide(case, gw.ngo).outcome is Outcome.permit
    d = gw.decide(case, gw.ngo, at=utcnow() + timedelta(days=31))
    assert d.outcome is Outcome.deny
    assert reason(d, Reason.consent_expired)["consent_ids"] == [given.id]


def test_only_the_current_version_counts(gw: World) -> None:
    case = gw.case()
    v1 = consent(gw, case, categories=["identity", "contact"])
    with gw.runtime.sessions.begin() as db:
        v2 = add_consent(db, case, categories=["identity"], supersedes=db.get_one(Consent, v1.id))
    d = gw.decide(case, gw.ngo)
    assert d.permitted_categories == ("identity",)
    assert d.consent_ids == (v2.id,)


def test_recipient_excluded_by_organisation(gw: World) -> None:
    case = gw.case()
    consent(gw, case)
    excluding = consent(gw, case, kinds=["un_agency"], excluded_organizations=[gw.ngo])
    d = gw.decide(case, gw.ngo)
    assert d.outcome is Outcome.deny
    assert reason(d, Reason.recipient_excluded)["consent_ids"] == [excluding.id]
    assert d.permitted_categories == ()
    gw.agreement(gw.other_ngo)
    assert gw.decide(case, gw.other_ngo).outcome is Outcome.permit


def test_recipient_excluded_by_kind(gw: World) -> None:
    case = gw.case()
    gw.agreement(gw.government)
    consent(gw, case, kinds=["ngo", "government"], excluded_kinds=["government"])
    d = gw.decide(case, gw.government)
    assert d.outcome is Outcome.deny
    assert Reason.recipient_excluded in d.codes
    # the same consent still permits the kinds it does not exclude
    assert gw.decide(case, gw.ngo).outcome is Outcome.permit


def test_recipient_not_covered(gw: World) -> None:
    case = gw.case()
    given = consent(gw, case, kinds=["un_agency"])
    d = gw.decide(case, gw.ngo)
    assert d.outcome is Outcome.deny
    assert reason(d, Reason.recipient_not_covered)["consent_ids"] == [given.id]


def test_a_recipient_named_by_organisation_is_covered(gw: World) -> None:
    case = gw.case()
    gw.agreement(gw.other_ngo)
    consent(gw, case, kinds=[], organizations=[gw.ngo])
    assert gw.decide(case, gw.ngo).outcome is Outcome.permit
    assert Reason.recipient_not_covered in gw.decide(case, gw.other_ngo).codes


def test_purpose_not_covered(gw: World) -> None:
    case = gw.case()
    gw.agreement(gw.ngo, purposes=["medical_care"])
    given = consent(gw, case, purposes=["medical_care"])
    d = gw.decide(case, gw.ngo)
    assert d.outcome is Outcome.deny
    assert reason(d, Reason.purpose_not_covered)["consent_ids"] == [given.id]
    assert gw.decide(case, gw.ngo, purpose="medical_care").outcome is Outcome.permit


def test_recipient_government(gw: World) -> None:
    case = gw.case()
    gw.agreement(gw.government)
    consent(gw, case, kinds=["government"])
    d = gw.decide(case, gw.government)
    assert d.outcome is Outcome.review
    assert d.codes == [Reason.recipient_government]
    assert d.permitted_categories == ("contact", "identity")


def test_sensitive_category(gw: World, runtime: Runtime) -> None:
    case = gw.case()
    consent(gw, case, categories=list(ALL))
    d = gw.decide(case, gw.ngo, ALL)
    assert d.outcome is Outcome.review
    assert reason(d, Reason.sensitive_category)["categories"] == ["health"]
    policy = without_trigger(runtime.policy, "sensitive_category")
    assert gw.decide(case, gw.ngo, ALL, policy=policy).outcome is Outcome.permit


def test_a_withheld_sensitive_category_does_not_ask_for_review(gw: World) -> None:
    case = gw.case()
    consent(gw, case, categories=["identity"])
    d = gw.decide(case, gw.ngo, ["identity", "health"])
    assert d.outcome is Outcome.permit
    assert d.withheld_categories == ("health",)


def test_verbal_without_witness(gw: World) -> None:
    case = gw.case()
    unwitnessed = consent(gw, case, method="verbal")
    d = gw.decide(case, gw.ngo)
    assert d.outcome is Outcome.review
    assert reason(d, Reason.verbal_without_witness)["consent_ids"] == [unwitnessed.id]
    other = gw.case()
    consent(gw, other, method="verbal", witness="staff 14")
    assert gw.decide(other, gw.ngo).outcome is Outcome.permit


def test_stale_consent(gw: World) -> None:
    case = gw.case()
    old = consent(gw, case, given_at=utcnow() - timedelta(days=366))
    d = gw.decide(case, gw.ngo)
    assert d.outcome is Outcome.review
    assert reason(d, Reason.stale_consent) == {
        "code": "stale_consent",
        "consent_ids": [old.id],
        "max_age_days": 365,
    }
    recent = gw.case()
    consent(gw, recent, given_at=utcnow() - timedelta(days=364))
    assert gw.decide(recent, gw.ngo).outcome is Outcome.permit


def test_the_effects_table_decides_what_a_reason_does(gw: World, runtime: Runtime) -> None:
    case = gw.case()
    gw.agreement(gw.government)
    consent(gw, case, kinds=["government"])
    effects = dict(runtime.policy.effects, recipient_government=Effect.deny)
    strict = runtime.policy.model_copy(update={"effects": effects})
    assert gw.decide(case, gw.government, policy=strict).outcome is Outcome.deny
    effects = dict(runtime.policy.effects, recipient_government=Effect.note)
    lenient = runtime.policy.model_copy(update={"effects": effects})
    assert gw.decide(case, gw.government, policy=lenient).outcome is Outcome.permit
    off = without_trigger(runtime.policy, "recipient_government")
    d = gw.decide(case, gw.government, policy=off)
    assert (d.outcome, d.codes) == (Outcome.permit, [])


def test_every_decision_is_stored_and_audited(gw: World, runtime: Runtime) -> None:
    case = gw.case()
    given = consent(gw, case, categories=["identity", "health"])
    d = gw.decide(case, gw.ngo, ["identity", "health", "contact"], context="delivery")
    with runtime.sessions.begin() as db:
        row = db.get_one(GateDecision, d.id)
        assert row.outcome == "review"
        assert row.permitted_categories == ["health", "identity"]
        assert row.requested_categories == ["contact", "health", "identity"]
        assert row.consent_ids == [given.id]
        assert row.reasons == list(d.reasons)
        assert row.policy_version == runtime.policy.version == 10
        assert (row.context, row.actor) == ("delivery", "user:caseworker")
        assert row.from_organization_id == gw.owner
        assert row.recipient_organization_id == gw.ngo
        entry = db.scalar(select(AuditEntry).where(AuditEntry.object_id == d.id))
        assert entry is not None and entry.action == "consent.gate_decided"
        assert entry.details["codes"] == ["category_not_covered", "sensitive_category"]
        assert entry.details["outcome"] == "review"
        assert entry.details["case_id"] == case
        assert entry.details["consent_ids"] == [given.id]
        text = json.dumps(entry.details)
        assert "Aïcha" not in text and "Moussa" not in text and "1990-04-02" not in text


def test_a_denial_is_stored_and_audited_too(gw: World, runtime: Runtime) -> None:
    case = gw.case()
    d = gw.decide(case, gw.un)
    with runtime.sessions.begin() as db:
        assert db.get_one(GateDecision, d.id).outcome == "deny"
        entry = db.scalar(select(AuditEntry).where(AuditEntry.object_id == d.id))
        assert entry is not None and "no_agreement" in entry.details["codes"]


def test_a_naive_instant_is_refused(gw: World) -> None:
    case = gw.case()
    with pytest.raises(ValueError, match="aware"):
        gw.decide(case, gw.ngo, at=utcnow().replace(tzinfo=None))


def test_trigger_model_is_strict() -> None:
    with pytest.raises(ValueError):
        Trigger.model_validate({"enabled": "maybe"})
