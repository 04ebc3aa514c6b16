"""Closing and reopening a case, and its history."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Choice = Literal["cancel", "keep"]


class CaseClose(BaseModel):
    """Why the case is closed (a code of the policy's `closure_reasons`), a note, and what to
    do with each open referral and transfer of the case and each transfer request naming it
    still waiting (by id: `cancel` or `keep`)."""

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
        description="each open referral or transfer of the case, and each transfer request "
        "naming it still waiting: `cancel` or `keep` (one left out: 409 "
        "`case_has_open_requests`). Cancelling a transfer request refuses it (code "
        "`case_closed`) when the owner received it, withdraws it when the owner made it",
    )


class CaseReopen(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "The person came back to the centre."}]},
    )

    note: str | None = Field(default=None, max_length=2000)


class OpenRequest(BaseModel):
    """A referral or transfer of the case still open, or a transfer request naming it still
    waiting: closing asks what to do with it."""

    id: str
    kind: Literal["referral", "transfer", "transfer_request"]
    status: str
    # the recipient; for a transfer request, the organisation asked for the case
    to_organization_id: str
    # a transfer request's requester, and whether the owner received it (closing refuses it)
    # or made it (closing withdraws it)
    from_organization_id: str | None = None
    received: bool = False
    created_at: datetime
    # the sender's cancel is a legal move from its status
    can_cancel: bool
