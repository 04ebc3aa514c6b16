"""Closing and reopening a case, and its history."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Choice = Literal["cancel", "keep"]


class CaseClose(BaseModel):
    """Why the case is closed (a code of the policy's `closure_reasons`), a note, and what to
    do with each open referral and transfer of the case (by id: `cancel` or `keep`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "goals_met",
                    "note": "Case plan goals reached; follow-up call done.",
                    "requests": {"0f6c1d2e9a8b4c7d": "cancel", "5b2a9c8d7e6f4a3b": "keep"},
                }
            ]
        },
    )

    # optional here so that a missing one is the move's 422 `reason_required`, as elsewhere
    reason: str | None = Field(
        default=None,
        max_length=40,
        description="goals_met, transferred, person_moved, unreachable, death, other "
        "(the policy's `closure_reasons`)",
    )
    note: str | None = Field(default=None, max_length=2000)
    requests: dict[str, Choice] = Field(
        default_factory=dict,
        max_length=500,
        description="each open referral or transfer of the case: `cancel` or `keep` "
        "(one left out: 409 `case_has_open_requests`)",
    )


class CaseReopen(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "The person came back to the centre."}]},
    )

    note: str | None = Field(default=None, max_length=2000)


class OpenRequest(BaseModel):
    """A referral or transfer of the case still open: closing asks what to do with it."""

    id: str
    kind: Literal["referral", "transfer"]
    status: str
    to_organization_id: str
    created_at: datetime
    # the sender's cancel is a legal move from its status
    can_cancel: bool
