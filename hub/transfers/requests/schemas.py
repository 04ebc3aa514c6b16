"""Transfer request payloads. The requester's reason and the owner's words are personal data
at worst: sealed at rest, shown only by GET /v1/transfer-requests/{id} to the two parties,
never in a POST answer (remembered for idempotent replays) nor in a list."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

REASON_MAX = 2000
REF_MAX = 100


class TransferRequestCreate(BaseModel):
    """The owner organisation and the case as the requester knows it: the owner's reference
    it was told (`case_ref`), or a referral about the case it received (`referral_id`). The
    answer is the same whether or not the hub finds the case."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "owner_organization_id": "5c4b3a2918f74e6d8c7b6a5f4e3d2c1b",
                    "case_ref": "MRRM-NE-2026-0042",
                    "reason": "The family now lives in Niamey, where our office follows it.",
                    "urgency": "normal",
                },
                {
                    "owner_organization_id": "5c4b3a2918f74e6d8c7b6a5f4e3d2c1b",
                    "referral_id": "3e9d2f7a1b6c4e8d9f0a1b2c3d4e5f60",
                    "reason": "We provide the psychosocial support; we can hold the whole case.",
                },
            ]
        },
    )

    owner_organization_id: str = Field(min_length=1, max_length=64)
    case_ref: str | None = Field(default=None, min_length=1, max_length=REF_MAX)
    referral_id: str | None = Field(default=None, min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=REASON_MAX)
    urgency: str = "normal"

    @field_validator("reason", "case_ref")
    @classmethod
    def _stripped(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="after")
    def _one_name(self) -> TransferRequestCreate:
        if (self.case_ref is None) == (self.referral_id is None):
            raise ValueError("name the case by exactly one of case_ref or referral_id")
        return self


class RefuseBody(BaseModel):
    """refuse: a code of the policy's `transfer_request_refusals`, words beside it if need be
    (the requester reads them)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"refusal_code": "services_ongoing", "reason": "Her treatment here ends in May."}
            ]
        },
    )

    # optional in the schema so a missing code is 422 `reason_required`
    refusal_code: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=REASON_MAX)


class WithdrawBody(BaseModel):
    """withdraw: words if the requester wants to give any."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})

    reason: str | None = Field(default=None, max_length=REASON_MAX)


class TransferRequestSummary(BaseModel):
    """Ids, codes and times: what either party sees without anything being decrypted, and the
    answer to every POST. `case_id` and `matched` are the owner's only (null to the requester:
    whether the hub knows the case is not the requester's to learn)."""

    id: str
    requester_organization_id: str
    owner_organization_id: str
    named_by: Literal["case_ref", "referral"]
    urgency: str
    status: str
    status_reason: str | None
    refusal_code: str | None
    # the transfer that answered it (to the requester once the transfer is offered to it)
    transfer_id: str | None
    # to the owner only: the case the request names, if the hub matched it
    case_id: str | None = None
    matched: bool | None = None
    answer_by: datetime
    overdue: bool = False
    escalated: bool = False
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[str]


class TransferRequestRead(TransferRequestSummary):
    # as the requester gave them (sealed at rest; gone once the matched case is erased)
    case_ref: str | None
    referral_id: str | None
    reason: str | None
    # the words beside a refusal or a withdrawal
    answer_text: str | None
    # to the owner only: the reference of the matched case
    case_external_ref: str | None = None


class TransferRequestPage(BaseModel):
    items: list[TransferRequestSummary]
    next: str | None
