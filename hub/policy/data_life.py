"""Data life: how long a recipient may keep what it receives (the policy's `data_life:`).

A period is a unit (`day`, `month`, `year`) and a count, as the Account Aggregator's
`DataLife`; it is counted from each disclosure, so the recipient's erase-by date is the
disclosure's time plus the period (calendar months and years: 31 January plus a month is the
last day of February). The policy may give a default and a maximum, for every purpose and per
purpose; a consent's own period must not pass the maximum of any of its purposes, and a
consent that gives none takes the shortest default of its purposes (`hub.consent.data_life`).
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.policy.rules import Audience

Unit = Literal["day", "month", "year"]
# a hundred years: more is no limit at all, and would not fit a date
MAX_DAYS = 36_500
MAX_VALUE: dict[str, int] = {"day": MAX_DAYS, "month": 1_200, "year": 100}


class Period(BaseModel):
    """How long, from a disclosure: `{"unit": "month", "value": 6}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Unit
    value: int = Field(ge=1, le=MAX_DAYS)

    @model_validator(mode="after")
    def _at_most_a_century(self) -> Period:
        if self.value > MAX_VALUE[self.unit]:
            raise ValueError(f"at most {MAX_VALUE[self.unit]} {self.unit}s (a hundred years)")
        return self

    def after(self, start: datetime) -> datetime:
        """`start` plus the period (calendar months and years, clamped to the month's end)."""
        if self.unit == "day":
            return start + timedelta(days=self.value)
        months = self.value * (12 if self.unit == "year" else 1)
        index = start.month - 1 + months
        year, month = start.year + index // 12, index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return start.replace(year=year, month=month, day=day)

    def words(self) -> str:
        return f"{self.value} {self.unit}{'s' if self.value != 1 else ''}"


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Period | None = None
    maximum: Period | None = None


class DataLifeNotify(BaseModel):
    """The people told (besides the organisations' channels) before an erase-by date
    (`reminder`, the recipient's) and past it without a confirmation (`overdue`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reminder: tuple[Audience, ...] = ()
    overdue: tuple[Audience, ...] = ()


class DataLifeRules(BaseModel):
    """The policy's `data_life:`; absent, a consent sets its own period or none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Period | None = None
    maximum: Period | None = None
    by_purpose: dict[str, Limits] = Field(default_factory=dict)
    # the recipient is reminded this many days before its erase-by date
    remind_before_days: int = Field(default=14, ge=0, le=365)
    notify: DataLifeNotify = Field(default_factory=DataLifeNotify)

    def limits(self, purpose: str) -> Limits:
        own = self.by_purpose.get(purpose)
        return Limits(
            default=own.default if own and own.default else self.default,
            maximum=own.maximum if own and own.maximum else self.maximum,
        )

    @property
    def remind_before(self) -> timedelta:
        return timedelta(days=self.remind_before_days)
