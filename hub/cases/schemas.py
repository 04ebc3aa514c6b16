"""Case payloads. Category names are checked against the policy vocabulary by the service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

CategoryData = dict[str, Any]


class Subject(BaseModel):
    """Who the case is about, as far as the rules need: age (child rules) and sex.

    The birth date is exact (`"2010-03-14"`, precision `day`, the default), or estimated: to
    the month (`"2010-05"`, `month`) or the year (`"2010"`, `year`); or instead an age stated on
    a day (`estimated_age`, `age_stated_on`: today when not given). Given back as it was given.
    The rules use the youngest age it allows (`hub.cases.ages.youngest_age`); what does not
    make one estimate is 422 with a code of its own (`hub.cases.ages.check`)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {"birth_date": "2010-03-14", "sex": "female"},
                {"birth_date": "2010", "birth_date_precision": "year", "sex": "male"},
                {"estimated_age": 15, "age_stated_on": "2026-11-28", "sex": "male"},
            ]
        },
    )

    birth_date: str | None = Field(
        default=None,
        max_length=10,
        pattern=r"^\d{4}(-\d{2}){0,2}$",
        description="YYYY-MM-DD (precision day), YYYY-MM (month) or YYYY (year)",
    )
    birth_date_precision: Literal["day", "month", "year"] | None = None
    estimated_age: int | None = Field(default=None, description="the age the person was said to be")
    age_stated_on: date | None = Field(
        default=None, description="the day the estimated age was stated (default: today)"
    )
    sex: Literal["female", "male", "other", "unknown"]

    @model_serializer(mode="wrap")
    def _as_given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # what was not given is not given back (nor stored)
        return {k: v for k, v in handler(self).items() if v is not None}

    @field_validator("birth_date", mode="before")
    @classmethod
    def _written(cls, value: Any) -> Any:
        # the hub's own callers may hand in a date
        return value.isoformat() if isinstance(value, date) else value


class CaseCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "external_ref": "NE-AGZ-2026-0042",
                    "subject": {"birth_date": "1998-03-14", "sex": "female"},
                    "data": {
                        "identity": {"given_name": "Aïcha", "family_name": "Exemple"},
                        "contact": {"phone": "+227 90 00 00 00"},
                    },
                }
            ]
        },
    )

    external_ref: str = Field(min_length=1, max_length=100)
    subject: Subject
    # category -> a JSON object; each category is encrypted on its own
    data: dict[str, CategoryData] = Field(default_factory=dict)


class CaseDataUpdate(BaseModel):
    """Categories to replace whole (`null` removes one)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"data": {"contact": {"phone": "+227 90 00 00 01"}}}]},
    )

    data: dict[str, CategoryData | None] = Field(min_length=1)


class CaseSummary(BaseModel):
    """What may be shown without decrypting anything: ids, category names, times."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    external_ref: str
    owner_organization_id: str
    categories: list[str]
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None = None
    # the case's own life: `open` or `closed` (POST /v1/cases/{id}/close, /reopen)
    status: Literal["open", "closed"] = "open"
    # why it was closed, while it is (the policy's `closure_reasons`)
    closure_reason: str | None = None


class CaseRead(CaseSummary):
    subject: Subject
    data: dict[str, CategoryData]


class CasePage(BaseModel):
    items: list[CaseSummary]
    next: str | None
