"""Data life periods (the policy's `data_life:`): calendar arithmetic, the century cap, the
policy's per-purpose limits and its cross-checks, and `hub.consent.data_life.resolve`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.api.problems import Unprocessable
from hub.consent import data_life
from hub.policy.data_life import Period
from hub.policy.loader import PolicyError, load_policy, parse_policy

POLICY = Path(__file__).parents[2] / "specs" / "policy.yaml"
START = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("unit", "value", "end"),
    [
        ("day", 30, datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),
        ("month", 1, datetime(2026, 2, 28, 10, 0, tzinfo=UTC)),  # the month's last day
        ("month", 13, datetime(2027, 2, 28, 10, 0, tzinfo=UTC)),
        ("year", 2, datetime(2028, 1, 31, 10, 0, tzinfo=UTC)),
    ],
)
def test_a_period_counts_calendar_days_months_and_years(
    unit: str, value: int, end: datetime
) -> None:
    assert Period(unit=unit, value=value).after(START) == end  # type: ignore[arg-type]


def test_a_leap_day_plus_a_year_is_the_last_day_of_february() -> None:
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert Period(unit="year", value=1).after(leap) == datetime(2029, 2, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        {"unit": "week", "value": 2},
        {"unit": "month", "value": 0},
        {"unit": "year", "value": 101},
        {"unit": "month", "value": 1201},
        {"unit": "day", "value": 36501},
        {"unit": "day", "value": 3, "extra": 1},
    ],
)
def test_periods_outside_the_contract_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Period.model_validate(raw)


def test_the_shipped_policy_limits_by_purpose() -> None:
    rules = load_policy(POLICY).data_life
    gbv = rules.limits("gbv_response")
    assert gbv.default == Period(unit="month", value=6)
    assert gbv.maximum == Period(unit="year", value=1)
    # no default of its own, the policy-wide maximum
    assert rules.limits("psychosocial_support").default is None
    assert rules.limits("psychosocial_support").maximum == Period(unit="year", value=5)
    assert rules.remind_before_days == 14


def test_resolve_takes_the_shortest_default_and_checks_every_maximum() -> None:
    rules = load_policy(POLICY).data_life
    now = START
    assert data_life.resolve(rules, ["psychosocial_support"], None, now) is None
    both = ["gbv_response", "child_protection"]
    assert data_life.resolve(rules, both, None, now) == Period(unit="month", value=6)
    given = Period(unit="month", value=18)
    assert data_life.resolve(rules, ["child_protection"], given, now) == given
    with pytest.raises(Unprocessable) as refused:
        data_life.resolve(rules, both, given, now)  # over gbv_response's year
    assert refused.value.code == "data_life_too_long"
    assert refused.value.extra["purpose"] == "gbv_response"


def test_erase_by_is_the_earliest_of_the_consents_periods() -> None:
    periods = [None, Period(unit="year", value=1), Period(unit="day", value=40)]
    assert data_life.erase_by_for(periods, START) == datetime(2026, 3, 12, 10, 0, tzinfo=UTC)
    assert data_life.erase_by_for([None], START) is None


def test_the_policy_refuses_an_unknown_purpose_in_data_life() -> None:
    text = POLICY.read_text(encoding="utf-8").replace(
        "    gbv_response:\n      default: {unit: month",
        "    gbv_responce:\n      default: {unit: month",
    )
    with pytest.raises(PolicyError, match="gbv_responce"):
        parse_policy(text)
