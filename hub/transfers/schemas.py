"""Case transfer payloads. The plan is personal data (it names needs, risks and a contact): it
is sealed at rest and shown only by GET /v1/transfers/{id}, never in a POST answer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.reviews.schemas import ReviewOutcome

REASON_MAX = 2000
NEED_MAX = 500
NEEDS_MAX = 50
CONTACT_MAX = 500
TEXT_MAX = 2000


class Role(StrEnum):
    sent = "sent"
    received = "received"


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class TransferPlan(BaseModel):
    """The transfer plan the receiving case worker takes the case on with ("plan de transfert
    clairement défini"): why, what is still open, what to watch for, whom to call."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=REASON_MAX)
    open_needs: list[str] = Field(min_length=1, max_length=NEEDS_MAX)
    risks: str = Field(max_length=REASON_MAX)
    handover_contact: str = Field(max_length=CONTACT_MAX)

    @field_validator("reason", "risks", "handover_contact")
    @classmethod
    def _text(cls, value: str) -> str:
        return _not_blank(value)

    @field_validator("open_needs")
    @classmethod
    def _needs(cls, value: list[str]) -> list[str]:
        needs = [_not_blank(need) for need in value]
        if any(len(need) > NEED_MAX for need in needs):
            raise ValueError(f"each open need is at most {NEED_MAX} characters")
        return needs


class TransferCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "case_id": "3e9d2f7a1b6c4e8d9f0a1b2c3d4e5f60",
                    "to_organization_id": "5c4b3a2918f74e6d8c7b6a5f4e3d2c1b",
                    "plan": {
                        "reason": "The family moved to Niamey.",
                        "open_needs": ["Medical follow-up", "School enrolment"],
                        "risks": "None known at the new address.",
                        "handover_contact": "Case worker, IOM Agadez, +227 90 00 00 02",
                    },
                }
            ]
        },
    )

    case_id: str = Field(min_length=1, max_length=64)
    to_organization_id: str = Field(min_length=1, max_length=64)
    plan: TransferPlan
    # the transfer request this transfer answers (`/v1/transfer-requests`): the request moves
    # to `answered_with_transfer` in the same transaction; the transfer goes to the requester
    transfer_request_id: str | None = Field(default=None, min_length=1, max_length=64)
    legal_basis: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="Transfer the case without the person's consent, on a legal basis of the "
        "policy's `legal_bases` (`best_interests_determination`, `vital_interest`, ...), to an "
        "organisation outside the sender's IOM hierarchy (within it no consent is needed: 422 "
        "`legal_basis_not_needed`): only people of the roles it names invoke it (a client sends "
        "On-Behalf-Of); at most its categories are handed over, and nothing leaves before two "
        "consent officers (neither the requester) have approved. Absent: the transfer rests on "
        "consent.",
    )
    basis_justification: str | None = Field(
        default=None,
        max_length=4000,
        description="Why the legal basis applies, in the requester's words (required with "
        "`legal_basis`); sealed with the case's data key, shown to the consent officers.",
    )


class TransferResubmit(BaseModel):
    """A transfer sent back for correction, resubmitted, with an amended plan if given."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "plan": {
                        "reason": "The family moved to Niamey.",
                        "open_needs": ["Medical follow-up"],
                        "risks": "None known at the new address.",
                        "handover_contact": "Case worker, IOM Agadez, +227 90 00 00 02",
                    }
                }
            ]
        },
    )

    plan: TransferPlan | None = None


class MoveBody(BaseModel):
    """accept: nothing to say."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{}]},
    )


class ReasonBody(BaseModel):
    """reject, cancel. Optional in the schema so a missing reason is 422 `reason_required`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "The case is better served by the Zinder office."}]
        },
    )

    reason: str | None = Field(default=None, max_length=TEXT_MAX)


class TransferSummary(BaseModel):
    """What either party may see without anything being decrypted: ids, codes, times.

    Also the answer to every POST (remembered for idempotent replays), so it never holds
    personal data. Fields only the sender sees are null for the recipient.
    """

    id: str
    case_id: str
    from_organization_id: str
    to_organization_id: str
    # between offices of one IOM hierarchy: one data controller, no consent needed
    within_hierarchy: bool
    status: str
    status_reason: str | None
    consent_ids: list[str] | None
    decision_id: str | None
    review_id: str | None
    # what it rests on: `consent` (or, within a hierarchy, nothing: see `within_hierarchy`),
    # or a legal basis of the policy's `legal_bases`
    legal_basis: str = "consent"
    created_at: datetime
    updated_at: datetime
    # the offer's acceptance deadline (while it waits), and whether it is past it or escalated
    # (the policy's `follow_up.transfer_acceptance`)
    accept_by: datetime | None = None
    overdue: bool = False
    escalated: bool = False
    # what the caller may do next (POST /v1/transfers/{id}/<action>)
    allowed_actions: list[str]


class TransferCreated(TransferSummary):
    # what would be handed over on acceptance, and what the consent gate withheld (category
    # names: the sender's own case)
    categories: list[str]
    withheld_categories: list[str]
    # the consent gate's reasons (codes, ids and category names); empty within a hierarchy
    reasons: list[dict[str, Any]]


class TransferAccepted(TransferSummary):
    # the categories the new owner received; anything else was erased (see hub.transfers.handover)
    released_categories: list[str]


class CaseBrief(BaseModel):
    """All a recipient learns about the case before it accepts: no names, no data categories
    (a category name alone can say "survivor of violence")."""

    case_id: str
    # the sender's reference, so the two case workers can speak about the same case
    external_ref: str
    age_band: Literal["0-4", "5-11", "12-17", "18-59", "60+"] | None
    sex: str | None


class TransferRead(TransferSummary):
    # to both parties while the transfer is open or done; null once rejected or cancelled for
    # the recipient, and once the case's data is erased
    plan: TransferPlan | None
    # to the recipient only
    case: CaseBrief | None
    # to the recipient only: why `plan` and `case` are null (the consent gate is asked at each
    # read): [{"code": "consent_denied" | "review_required" | "consent_withdrawn" |
    # "case_erased" | "transfer_closed", "decision_id"?: ..., "codes"?: [...]}]
    plan_withheld: list[dict[str, Any]] | None = None
    # to the sender only: what the plan hands over and what consent did not cover
    categories: list[str] | None
    withheld_categories: list[str] | None
    # once completed, to both: what was handed over
    released_categories: list[str] | None
    # to the sender only: the latest review (a consent officer's answer, and why)
    review: ReviewOutcome | None = None


class ListScope(StrEnum):
    # the caller's organisation's own transfers
    own = "own"
    # and those of the offices below it (supervision: metadata only)
    tree = "tree"


class SupervisedTransfer(BaseModel):
    """A transfer of an office below the caller's, as its supervising office sees it
    (`?scope=tree`): status, dates, parties. No case, no plan, no consent: the plan and the
    case file go only to the receiving organisation, through the consent gate."""

    supervision: Literal[True] = True
    id: str
    from_organization_id: str
    to_organization_id: str
    within_hierarchy: bool
    status: str
    status_reason: str | None
    created_at: datetime
    updated_at: datetime


class TransferPage(BaseModel):
    # with `?scope=tree`, the offices below the caller's appear as `SupervisedTransfer`
    items: list[TransferSummary | SupervisedTransfer]
    next: str | None


class GateProblem(BaseModel):
    """The 422 `consent_denied` answer when the consent gate denies a transfer (RFC 9457)."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    decision_id: str
    reasons: list[dict[str, Any]]


class AcceptanceProblem(GateProblem):
    """The gate refusing an acceptance: 422 `consent_denied`, or 409 `review_required`."""

    # the transfer's status afterwards: `cancelled` when a consent it rests on was withdrawn,
    # otherwise unchanged (`sent`)
    transfer_status: str
