"""The policy's retention periods: calendar months and days, by closure reason, checked at load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.policy.loader import PolicyError, load_policy, parse_policy
from hub.policy.retention import ClosedCases, Period

POLICY = Path(__file__).parents[2] / "specs" / "policy.yaml"


def test_the_shipped_policy_keeps_closed_cases_five_years_and_two_after_a_death() -> None:
    rules = load_policy(POLICY).retention.closed_cases
    assert rules.period_for("goals_met") == Period(months=60)
    assert rules.period_for("death") == Period(months=24)
    assert rules.period_for(None) == Period(months=60)


def test_months_are_calendar_months() -> None:
    at = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
    assert Period(months=1).after(at) == datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
    assert Period(months=13, days=1).after(at) == datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    assert Period(days=90).after(at) == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def test_the_query_bound_never_misses_a_due_case() -> None:
    rules = ClosedCases(default=Period(months=3), by_closure_reason={"death": Period(days=40)})
    now = datetime(2026, 3, 1, tzinfo=UTC)
    # the earliest closure that can be due is no later than the bound
    for days_ago in range(0, 200):
        closed = now - timedelta(days=days_ago)
        for reason in ("death", "other"):
            if rules.period_for(reason).after(closed) <= now:
                assert closed <= rules.closed_before(now)


def _with(text: str) -> str:
    return POLICY.read_text(encoding="utf-8").replace(
        "    by_closure_reason:\n", "    by_closure_reason:\n" + text, 1
    )


def test_an_unknown_closure_reason_or_an_empty_period_is_refused_naming_the_line() -> None:
    with pytest.raises(PolicyError, match=r"by_closure_reason\.dead: 'dead' is not in"):
        parse_policy(_with("      dead:\n        months: 1\n"), "p")
    with pytest.raises(PolicyError, match=r"line \d+: retention\.closed_cases\.by_closure_reason"):
        parse_policy(_with("      unreachable: {}\n"), "p")
    with pytest.raises(PolicyError, match="months"):
        parse_policy(_with("      unreachable:\n        months: 999\n"), "p")


def test_a_policy_without_retention_keeps_the_default() -> None:
    text = POLICY.read_text(encoding="utf-8").split("\nretention:")[0]
    assert parse_policy(text, "p").retention.closed_cases.default == Period(months=60)
