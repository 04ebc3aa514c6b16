"""The child rules, from the policy's age bands (caregiver consent under 18, the child's assent
from 6, the child's own consent from 15), at the subject's age on the decision's instant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub.cases.ages import age_on
from hub.clock import utcnow
from hub.consent.gate import Outcome
from hub.policy.rules import Reason
from hub.runtime import Runtime
from tests.support.consent_rows import add_consent
from tests.support.gate_world import World, birth_date_for

R = Reason
CAREGIVER = {"given_by": "caregiver", "categories": ["identity", "contact"]}
OWN = {"given_by": "subject", "categories": ["identity"]}
NOT_CONSENTED = {R.no_consent, R.category_not_covered, R.nothing_permitted}


def caregiver(assent: bool | None) -> dict[str, Any]:
    return CAREGIVER | {"child_assent": assent}


@pytest.fixture
def gw(runtime: Runtime) -> World:
    world = World.make(runtime)
    world.agreement(world.ngo)
    return world


CASES = [
    # age, consents, outcome, codes, permitted
    (5, [caregiver(None)], "review", {R.child_case}, ("contact", "identity")),
    (5, [caregiver(False)], "review", {R.child_case}, ("contact", "identity")),
    (5, [OWN], "deny", {R.caregiver_consent_missing, R.child_case} | NOT_CONSENTED, ()),
    (10, [caregiver(True)], "review", {R.child_case}, ("contact", "identity")),
    (
        10,
        [caregiver(None)],
        "review",
        {R.child_assent_missing, R.child_case},
        ("contact", "identity"),
    ),
    (
        10,
        [caregiver(False)],
        "review",
        {R.child_assent_missing, R.child_case},
        ("contact", "identity"),
    ),
    # a younger child's own "consent" is their assent; the caregiver's consent decides the scope
    (10, [caregiver(None), OWN], "review", {R.child_case}, ("contact", "identity")),
    (10, [OWN], "deny", {R.caregiver_consent_missing, R.child_case} | NOT_CONSENTED, ()),
    # from 15 both must consent: what leaves is what both cover
    (16, [caregiver(True), OWN], "review", {R.child_case, R.category_not_covered}, ("identity",)),
    (
        16,
        [caregiver(True)],
        "review",
        {R.child_consent_missing, R.child_case},
        ("contact", "identity"),
    ),
    (
        16,
        [caregiver(None)],
        "review",
        {R.child_consent_missing, R.child_assent_missing, R.child_case},
        ("contact", "identity"),
    ),
    (
        16,
        [OWN],
        "review",
        {R.caregiver_consent_missing, R.child_case, R.category_not_covered},
        ("identity",),
    ),
    (17, [caregiver(True), OWN], "review", {R.child_case, R.category_not_covered}, ("identity",)),
    # an adult speaks for themself: a caregiver's consent is not counted, and says so
    (30, [caregiver(None)], "deny", {R.caregiver_consent_for_adult} | NOT_CONSENTED, ()),
    (
        30,
        [caregiver(None), OWN],
        "permit",
        {R.caregiver_consent_for_adult, R.category_not_covered},
        ("identity",),
    ),
    (30, [OWN], "permit", {R.category_not_covered}, ("identity",)),
]


@pytest.mark.parametrize(("age", "consents", "outcome", "codes", "permitted"), CASES)
def test_child_bands(
    gw: World,
    age: int,
    consents: list[dict[str, Any]],
    outcome: str,
    codes: set[Reason],
    permitted: tuple[str, ...],
) -> None:
    at = utcnow()
    case = gw.case(birth_date=birth_date_for(age, at))
    with gw.runtime.sessions.begin() as db:
        for spec in consents:
            add_consent(db, case, **spec)
    d = gw.decide(case, gw.ngo, ["identity", "contact"], at=at)
    assert d.outcome == outcome, d.reasons
    assert set(d.codes) == codes
    assert d.permitted_categories == permitted


def test_a_refused_assent_says_so(gw: World) -> None:
    at = utcnow()
    case = gw.case(birth_date=birth_date_for(10, at))
    with gw.runtime.sessions.begin() as db:
        add_consent(db, case, **caregiver(False))
    d = gw.decide(case, gw.ngo, at=at)
    assert {"code": "child_assent_missing", "refused": True} in d.reasons


def test_turning_18_the_own_consent_is_enough(gw: World) -> None:
    now = utcnow()
    case = gw.case(birth_date=birth_date_for(17, now, days_to_birthday=3))
    with gw.runtime.sessions.begin() as db:
        add_consent(db, case, given_by="subject", categories=["identity", "contact"])
    before = gw.decide(case, gw.ngo, at=now + timedelta(days=2))
    assert before.outcome is Outcome.review
    assert R.caregiver_consent_missing in before.codes
    after = gw.decide(case, gw.ngo, at=now + timedelta(days=4))
    assert after.outcome is Outcome.permit
    assert after.codes == []
    assert after.permitted_categories == ("contact", "identity")


def test_turning_6_the_assent_becomes_required(gw: World) -> None:
    now = utcnow()
    case = gw.case(birth_date=birth_date_for(5, now, days_to_birthday=3))
    with gw.runtime.sessions.begin() as db:
        add_consent(db, case, **caregiver(None))
    assert R.child_assent_missing not in gw.decide(case, gw.ngo, at=now).codes
    assert R.child_assent_missing in gw.decide(case, gw.ngo, at=now + timedelta(days=4)).codes


def test_turning_15_the_own_consent_becomes_required(gw: World) -> None:
    now = utcnow()
    case = gw.case(birth_date=birth_date_for(14, now, days_to_birthday=3))
    with gw.runtime.sessions.begin() as db:
        add_consent(db, case, **caregiver(True))
    assert R.child_consent_missing not in gw.decide(case, gw.ngo, at=now).codes
    assert R.child_consent_missing in gw.decide(case, gw.ngo, at=now + timedelta(days=4)).codes


def test_a_child_case_permits_when_the_trigger_is_off(gw: World, runtime: Runtime) -> None:
    at = utcnow()
    case = gw.case(birth_date=birth_date_for(10, at))
    with gw.runtime.sessions.begin() as db:
        add_consent(db, case, **caregiver(True))
    triggers = runtime.policy.review_triggers
    off = triggers.child_case.model_copy(update={"enabled": False})
    policy = runtime.policy.model_copy(
        update={"review_triggers": triggers.model_copy(update={"child_case": off})}
    )
    d = gw.decide(case, gw.ngo, at=at, policy=policy)
    assert (d.outcome, d.codes) == (Outcome.permit, [])


def test_the_bands_come_from_the_policy(gw: World, runtime: Runtime) -> None:
    at = utcnow()
    case = gw.case(birth_date=birth_date_for(16, at))
    with gw.runtime.sessions.begin() as db:
        add_consent(db, case, given_by="subject", categories=["identity", "contact"])
    bands = runtime.policy.children.model_copy(update={"caregiver_consent_under": 16})
    policy = runtime.policy.model_copy(update={"children": bands})
    assert gw.decide(case, gw.ngo, at=at, policy=policy).outcome is Outcome.permit
    assert gw.decide(case, gw.ngo, at=at).outcome is Outcome.review


def test_age_on() -> None:
    from datetime import date

    assert age_on(date(2010, 3, 14), date(2026, 3, 13)) == 15
    assert age_on(date(2010, 3, 14), date(2026, 3, 14)) == 16
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
