"""Case payloads. Category names are checked against the policy vocabulary by the service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CategoryData = dict[str, Any]


class Subject(BaseModel):
    """Who the case is about, as far as the rules need: age (child rules) and sex."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    birth_date: date
    sex: Literal["female", "male", "other", "unknown"]


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


class CaseRead(CaseSummary):
    subject: Subject
    data: dict[str, CategoryData]


class CasePage(BaseModel):
    items: list[CaseSummary]
    next: str | None
