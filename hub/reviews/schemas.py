"""Review payloads: what a consent officer sees and sends, and what the requester learns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ReviewStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    denied = "denied"
    # sent back to the requester for correction (renvoyé pour correction)
    returned = "returned"
    # closed undecided: its request left review another way (the sender cancelled it, a consent
    # withdrawal cancelled it); nothing is left to decide
    withdrawn = "withdrawn"


class ReviewKind(StrEnum):
    referral = "referral"
    transfer = "transfer"


class ReviewOrder(StrEnum):
    # newest first, in pages (the default)
    newest = "newest"
    # the officers' queue: emergency, high, normal; escalated first; then oldest first
    priority = "priority"


class ReviewDecide(BaseModel):
    """approve, deny, return: the officer always says why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "justification": "Consent form checked with the case worker; "
                    "the recipient is covered."
                }
            ]
        },
    )

    justification: str = Field(max_length=2000)

    @field_validator("justification")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a justification is required")
        return value


class ReviewOutcome(BaseModel):
    """The latest review of a referral or transfer, as its sender sees it (never the
    recipient): the officer's answer and why."""

    status: ReviewStatus
    justification: str | None
    decided_at: datetime | None


class ReturnedRead(BaseModel):
    """An earlier review of the same request that sent it back for correction."""

    review_id: str
    justification: str | None
    decided_by: str | None
    decided_at: datetime | None


class ApprovalRead(BaseModel):
    """A consent officer's approval of a request that needs more than one."""

    approved_by: str
    approved_at: datetime
    justification: str | None


class ReviewRead(BaseModel):
    """A held request, with what the gate said about it (ids, codes and category names) and
    what an officer decides on."""

    id: str
    kind: ReviewKind
    object_id: str
    case_id: str
    requesting_organization_id: str
    recipient_organization_id: str
    # the recipient organisation's kind (a government body is reviewed for that alone)
    recipient_kind: str | None
    purpose: str
    # the referral's urgency (`emergency`, `high`, `normal`); a transfer has none: `normal`
    urgency: str
    # the subject's age band when the request was held (`under_6`, `6_to_14`, `15_to_17`,
    # `adult`, `unknown`), by the policy's child ages
    age_band: str | None
    # the requester's note to the recipient (a referral's); None if none, or the case erased
    note: str | None
    # what would leave on approval, and what the gate withheld regardless
    categories: list[str]
    withheld_categories: list[str]
    consent_ids: list[str]
    reasons: list[dict[str, Any]]
    status: ReviewStatus
    requested_by: str
    created_at: datetime
    # the time limit (policy `reviews:`), and whether it has passed while still pending
    due_at: datetime | None
    overdue: bool
    # escalated past the time limit: to the office above (None when there is none)
    escalated: bool
    escalated_at: datetime | None
    escalated_to_organization_id: str | None
    decided_by: str | None
    decided_at: datetime | None
    justification: str | None
    # the last time this request was sent back before this review (it was resubmitted)
    returned: ReturnedRead | None
    # what the request rests on (`consent`, or a legal basis of the policy), and for a legal
    # basis: the requester's justification, how many officers approve it, and the first
    # approval while it waits for the second
    legal_basis: str = "consent"
    basis_justification: str | None = None
    officers_required: int = 1
    first_approval: ApprovalRead | None = None


class ReviewPage(BaseModel):
    items: list[ReviewRead]
    next: str | None
