"""The referral report: counts and times, never a person (small cells shown as "<5")."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class Dimension(StrEnum):
    month = "month"  # YYYY-MM the referral was made
    service_type = "service_type"
    partner = "partner"  # the recipient organisation
    sender = "sender"  # the referring organisation
    status = "status"
    urgency = "urgency"
    sex = "sex"  # the subject's, when the referral was made
    age_band = "age_band"  # the subject's, when the referral was made (0-4, ..., 60+)
    # the area of the service the referral is for (`reporting.area_level` of its code path),
    # else the recipient organisation's country
    area = "area"


Count = int | str  # a number, or "<5" when it is a small cell (or would give one away)


class CountRow(BaseModel):
    # one value per `group_by` dimension, in its order
    values: dict[str, str]
    count: Count


class Times(BaseModel):
    """Hours from sending to the move, over the referrals that made it (null with fewer
    than the threshold: `n` then shows "<5")."""

    n: Count
    median_hours: float | None
    p90_hours: float | None


class ReasonRow(BaseModel):
    status: str
    reason: str | None
    count: Count


class ReviewFigures(BaseModel):
    held: Count
    approved: Count
    denied: Count
    returned: Count
    pending: Count
    withdrawn: Count
    decision: Times


class ReferralReport(BaseModel):
    from_date: date = Field(serialization_alias="from")
    to_date: date = Field(serialization_alias="to")
    group_by: list[Dimension]
    small_cell_threshold: int
    total: Count
    rows: list[CountRow]
    times: dict[str, Times]
    reasons: list[ReasonRow]
    reviews: ReviewFigures
