"""The child rules with an estimated birth date: they apply to the youngest age the estimate
allows, so a child is never treated as an adult because of a guess. Each precision is tried
on both sides of the day its youngest reading turns 18, with the hub's clock moved there (the
case registered, the consent recorded and the gate asked on that day)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from hub.cases import service as cases
from hub.cases.ages import youngest_age
from hub.cases.models import Case
from hub.cases.schemas import Subject
from hub.clock import clock, utcnow
from hub.policy.rules import Reason
from hub.runtime import Runtime
from tests.support.consent_rows import add_consent
from tests.support.gate_world import World

YEAR = {"birth_date": "2007", "birth_date_precision": "year"}
MONTH = {"birth_date": "2007-05", "birth_date_precision": "month"}
EXACT = {"birth_date": "2007-01-01"}
STATED = {"estimated_age": 17, "age_stated_on": "2024-03-10"}

CASES = [
    # the subject as given, the day of the decision, a child then?
    (YEAR, date(2025, 6, 1), True),  # born in 2007: could be 17 until the end of 2025
    (YEAR, date(2025, 12, 30), True),
    (YEAR, date(2025, 12, 31), False),  # 18 whatever day of 2007 it was
    (MONTH, date(2025, 5, 30), True),
    (MONTH, date(2025, 5, 31), False),
    (EXACT, date(2024, 12, 31), True),
    (EXACT, date(2025, 1, 1), False),
    (EXACT, date(2025, 6, 1), False),  # the same year as the first line: exact, so an adult
    # "17" on 10 March 2024: born on 10 March 2007 at the latest
    (STATED, date(2025, 3, 9), True),
    (STATED, date(2025, 3, 10), False),
]


@pytest.fixture
def moved() -> Iterator[None]:
    yield
    clock.reset()


def _move_to(day: date) -> None:
    clock.reset()
    clock.advance(datetime(day.year, day.month, day.day, 10, tzinfo=UTC) - utcnow())


@pytest.mark.parametrize(("given", "day", "child"), CASES)
def test_the_child_rules_take_the_youngest_age(
    runtime: Runtime, moved: None, given: dict[str, Any], day: date, child: bool
) -> None:
    _move_to(day)
    world = World.make(runtime)
    world.agreement(world.ngo)
    subject = Subject.model_validate({**given, "sex": "male"})
    case = world.case(subject=subject)
    with runtime.sessions.begin() as db:
        # the person's own consent: enough for an adult, not for a child
        add_consent(db, case, given_by="subject", categories=["identity", "contact"])
    decision = world.decide(case, world.ngo, at=utcnow())
    if child:
        assert Reason.child_case in decision.codes, decision.reasons
        assert Reason.caregiver_consent_missing in decision.codes
    else:
        assert decision.outcome == "permit", decision.reasons
        assert decision.codes == []


def test_an_age_stated_today_is_that_age_today(runtime: Runtime, moved: None) -> None:
    _move_to(date(2026, 2, 1))
    world = World.make(runtime)
    case = world.case(subject=Subject(estimated_age=15, sex="male"))
    with runtime.sessions.begin() as db:
        subject = cases.read_subject(db=db, keyring=runtime.keyring, case=db.get_one(Case, case))
    # the day it was stated is recorded: the age grows with the years from there
    assert subject.age_stated_on == date(2026, 2, 1)
    assert youngest_age(subject, date(2026, 2, 1)) == 15
    assert youngest_age(subject, date(2027, 1, 31)) == 15
    assert youngest_age(subject, date(2027, 2, 1)) == 16


def test_the_youngest_age_of_each_precision() -> None:
    on = date(2025, 6, 1)
    assert youngest_age(Subject(sex="male", **YEAR), on) == 17
    assert youngest_age(Subject(sex="male", **MONTH), on) == 18
    assert (
        youngest_age(Subject(sex="male", birth_date="2007-06", birth_date_precision="month"), on)
        == 17
    )
    assert youngest_age(Subject(sex="male", **EXACT), on) == 18
    # stated on 29 February: born on 28 February at the latest, 15 years before
    leap = Subject(sex="male", estimated_age=15, age_stated_on=date(2024, 2, 29))
    assert youngest_age(leap, date(2024, 2, 29)) == 15
    assert (
        youngest_age(
            Subject(sex="male", birth_date="2026-01", birth_date_precision="month"),
            date(2026, 1, 15),
        )
        == 0
    )
