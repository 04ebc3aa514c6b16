"""Consent payloads, as DESIGN.md's request shape for `POST /v1/cases/{id}/consents`.

Structure and types are checked here; the rules that answer with their own problem `code`
(caregiver present or not, dates in order, vocabularies, recipients) live in the service, so
every entry point (API, console, import) gets the same answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from hub.consent.status import ConsentStatus
from hub.policy.data_life import Period

GivenBy = Literal["subject", "caregiver"]
Method = Literal["written", "verbal", "thumbprint", "electronic"]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=32)]
# BCP 47-ish: a 2–3 letter language, optional subtags (fr, ha, ar-TD, zh-Hant)
Language = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$", max_length=16)
]


def _unique(values: list[str]) -> list[str]:
    # repeated entries say nothing more: keep the first of each, in the order given
    return list(dict.fromkeys(values))


Codes = Annotated[list[Code], Field(max_length=50), AfterValidator(_unique)]
Identifiers = Annotated[list[Identifier], Field(max_length=200), AfterValidator(_unique)]


class Caregiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    relationship: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]


class Parties(BaseModel):
    """Organisations named one by one, and organisation kinds (policy vocabulary)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organizations: Identifiers = Field(default_factory=list)
    kinds: Codes = Field(default_factory=list)


class ConsentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "given_by": "subject",
                    "method": "written",
                    "witness": "Case worker on duty",
                    "language": "fr",
                    "interpreter": None,
                    "purposes": ["psychosocial_support"],
                    "recipients": {"organizations": [], "kinds": ["ngo"]},
                    "categories": ["identity", "contact"],
                    "exclusions": {"organizations": [], "kinds": []},
                    "valid_from": "2026-01-01T00:00:00Z",
                    "valid_until": "2031-01-01T00:00:00Z",
                }
            ]
        },
    )

    given_by: GivenBy
    caregiver: Caregiver | None = None
    child_assent: bool | None = None
    method: Method
    witness: Name | None = None
    language: Language
    interpreter: Name | None = None
    purposes: Annotated[Codes, Field(min_length=1)]
    recipients: Parties
    categories: Annotated[Codes, Field(min_length=1)]
    exclusions: Parties = Field(default_factory=Parties)
    valid_from: AwareDatetime
    valid_until: AwareDatetime | None = None
    # when the person consented; defaults to the time of recording
    given_at: AwareDatetime | None = None
    # the id of the version this one replaces: the new record is the next version of its series
    supersedes: Identifier | None = None
    # how long a recipient may keep what it receives, counted from each disclosure; absent:
    # the policy's default for the purposes, if any (`hub.consent.data_life`)
    data_life: Period | None = None


class WithdrawalCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"method": "verbal", "reason": None}]},
    )

    method: Method
    # a person owes no reason for withdrawing: optional, and sealed like personal data
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None


class WithdrawalRead(BaseModel):
    at: datetime
    method: Method
    reason: str | None
    recorded_by: str


class WithdrawalEffectRead(BaseModel):
    """A referral or transfer resting on the consent, and what its withdrawal does to it."""

    id: str
    to_organization_id: str
    status: str  # now, before the withdrawal
    cancelled: bool  # the withdrawal cancels it
    recipient_told: bool  # its recipient, who had data under the consent, is sent a notice


class WithdrawalPreviewRead(BaseModel):
    """What `POST /v1/consents/{id}/withdraw` would do now; nothing is changed."""

    consent_id: str
    series_id: str
    referrals: list[WithdrawalEffectRead]
    transfers: list[WithdrawalEffectRead]
    recipients_told: list[str]  # organisation ids


class EvidenceRead(BaseModel):
    content_type: str
    size: int
    sha256: str


class ConsentRead(BaseModel):
    id: str
    case_id: str
    series_id: str
    version: int
    supersedes: str | None
    status: ConsentStatus  # derived by hub.consent.status at the time of reading
    given_by: GivenBy
    # null once the case is erased (its key shredded): the record of the consent remains
    caregiver: Caregiver | None
    child_assent: bool | None
    method: Method
    witness: str | None
    language: str
    interpreter: str | None
    purposes: list[str]
    recipients: Parties
    categories: list[str]
    exclusions: Parties
    valid_from: datetime
    valid_until: datetime | None
    given_at: datetime
    # how long a recipient may keep what it receives (null: no limit)
    data_life: Period | None = None
    recorded_by: str
    recorded_at: datetime
    withdrawal: WithdrawalRead | None
    evidence: EvidenceRead | None


class ConsentPage(BaseModel):
    items: list[ConsentRead]
    next: str | None
