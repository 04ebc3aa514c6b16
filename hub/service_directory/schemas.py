"""Request and response shapes of the service directory (HSDS-like: a service of an
organisation, where it is offered, who is eligible, in which languages, its intake capacity).

Service types come from the policy's vocabulary (checked by the service, listed as an enum in
the OpenAPI document); the other lists are checked here."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Capacity = Literal["open", "limited", "full"]
Sex = Literal["female", "male", "other"]

AREA_CODE = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
AREA_PATH = rf"^{AREA_CODE}(/{AREA_CODE}){{0,7}}$"
LANGUAGE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
LEGAL_STATUS = r"^[a-z][a-z0-9_]{0,39}$"


def _check_languages(value: list[str] | None) -> list[str] | None:
    if value is not None and any(not re.match(LANGUAGE, v) for v in value):
        raise ValueError("a language is a BCP 47 tag such as `fr` or `ha`")
    return None if value is None else list(dict.fromkeys(value))


class Area(BaseModel):
    """An administrative area, by its codes from the top of the hierarchy: `NE/NE-AG/NE-AG-ARL`
    (Niger › Agadez › Arlit). A search for `NE-AG` finds the services of its sub-areas too."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(pattern=AREA_PATH, max_length=399)
    name: str | None = Field(None, max_length=200)


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Eligibility(BaseModel):
    """Who the service takes: an age range in whole years (either end open), the sexes and the
    legal statuses it serves (an empty list: all)."""

    model_config = ConfigDict(extra="forbid")

    age_min: int | None = Field(None, ge=0, le=130)
    age_max: int | None = Field(None, ge=0, le=130)
    sexes: list[Sex] = Field(default_factory=list, max_length=3)
    legal_statuses: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("legal_statuses")
    @classmethod
    def _statuses(cls, value: list[str]) -> list[str]:
        if any(not re.match(LEGAL_STATUS, v) for v in value):
            raise ValueError("a legal status is a lower-case code such as `refugee`")
        return sorted(set(value))

    @model_validator(mode="after")
    def _range(self) -> Eligibility:
        if self.age_min is not None and self.age_max is not None and self.age_max < self.age_min:
            raise ValueError("age_max must not be below age_min")
        return self


_EXAMPLE = {
    "service_type": "psychosocial_support",
    "name": "Psychosocial support for women and girls, Arlit",
    "description": "Individual and group sessions; safe space on site.",
    "areas": [{"path": "NE/NE-AG/NE-AG-ARL", "name": "Arlit"}],
    "location": {"latitude": 18.7369, "longitude": 7.3853},
    "focal_point": "PSS focal point, +227 90 00 00 00",
    "hours": "Mon-Thu 08:00-16:00",
    "eligibility": {"age_min": 12, "age_max": None, "sexes": ["female"], "legal_statuses": []},
    "languages": ["fr", "ha"],
    "capacity": "open",
    "last_verified_on": "2026-11-20",
}


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(None, max_length=4000)
    areas: list[Area] = Field(default_factory=list, max_length=100)
    location: Location | None = None
    focal_point: str | None = Field(None, max_length=200)
    hours: str | None = Field(None, max_length=200)
    eligibility: Eligibility = Field(default_factory=Eligibility)
    languages: list[str] = Field(default_factory=list, max_length=20)
    capacity: Capacity = "open"
    last_verified_on: date | None = None

    _languages = field_validator("languages")(_check_languages)


class ServiceCreate(_Fields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    # the hub's administrators name the organisation; a partner's own services need none
    organization_id: str | None = Field(None, max_length=64)
    service_type: str
    name: str = Field(min_length=1, max_length=200)


class ServiceUpdate(BaseModel):
    """The fields given replace the service's (`areas`, `languages`, `eligibility` whole)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"capacity": "full", "last_verified_on": "2026-11-28"}]},
    )

    service_type: str | None = None
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)
    areas: list[Area] | None = Field(None, max_length=100)
    location: Location | None = None
    focal_point: str | None = Field(None, max_length=200)
    hours: str | None = Field(None, max_length=200)
    eligibility: Eligibility | None = None
    languages: list[str] | None = Field(None, max_length=20)
    capacity: Capacity | None = None
    last_verified_on: date | None = None

    _languages = field_validator("languages")(_check_languages)


class AreaRead(BaseModel):
    path: str
    code: str
    name: str | None


class ServiceRead(BaseModel):
    id: str
    organization_id: str
    organization_name: str
    service_type: str
    name: str
    description: str | None
    areas: list[AreaRead]
    location: Location | None
    focal_point: str | None
    hours: str | None
    eligibility: Eligibility
    languages: list[str]
    capacity: Capacity
    last_verified_on: date | None
    created_at: datetime
    updated_at: datetime


class ServicePage(BaseModel):
    items: list[ServiceRead]
    next: str | None
