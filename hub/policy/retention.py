"""How long the hub keeps a closed case (`retention` in the policy file).

A case closed longer than its period, and not reopened since, is purged by
`hub retention run` (and the scheduler): crypto-shredded through the same erasure as
`DELETE /v1/cases/{id}` (`hub.retention.service`). The period is counted from the last time the
case was closed, in calendar months and days; the closure reason may set its own.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

# ten years: a longer period is a typo more often than a decision
MAX_MONTHS = 120
MAX_DAYS = 3660


class Period(BaseModel):
    """Calendar months and days, added in that order (`{months: 60}`, `{days: 90}`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    months: int = Field(default=0, ge=0, le=MAX_MONTHS)
    days: int = Field(default=0, ge=0, le=MAX_DAYS)

    @model_validator(mode="after")
    def _not_empty(self) -> Period:
        if self.months == 0 and self.days == 0:
            raise ValueError("a retention period needs months or days")
        return self

    def after(self, moment: datetime) -> datetime:
        """`moment` plus the period; a day past the end of the month lands on its last day
        (31 January plus one month is 28 or 29 February)."""
        month_index = moment.month - 1 + self.months
        year, month = moment.year + month_index // 12, month_index % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day) + timedelta(days=self.days)

    def shortest_days(self) -> int:
        """The fewest days the period can last (every month as short as February's 28)."""
        return self.months * 28 + self.days

    def label(self) -> str:
        parts = [f"{self.months} months"] if self.months else []
        parts += [f"{self.days} days"] if self.days else []
        return " ".join(parts)


class ClosedCases(BaseModel):
    """How long a closed case is kept: `default`, or the period of its closure reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Period = Field(default_factory=lambda: Period(months=60))
    by_closure_reason: dict[str, Period] = Field(default_factory=dict)

    def period_for(self, closure_reason: str | None) -> Period:
        if closure_reason is None:
            return self.default
        return self.by_closure_reason.get(closure_reason, self.default)

    def closed_before(self, moment: datetime) -> datetime:
        """No case closed after this can be due at `moment`, whatever its reason: a bound
        that narrows the query (the rule itself is `Period.after`)."""
        periods = [self.default, *self.by_closure_reason.values()]
        return moment - timedelta(days=min(p.shortest_days() for p in periods))


class Retention(BaseModel):
    """The hub's own retention of what it holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    closed_cases: ClosedCases = Field(default_factory=ClosedCases)
