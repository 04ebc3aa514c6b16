"""Referral payloads. Vocabulary values (service types, purposes, categories, urgencies) are
checked against the policy by the service, so that an unknown one is 422 `unknown_value`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.reviews.schemas import ReviewOutcome

NOTE_MAX = 4000
TEXT_MAX = 2000


class Role(StrEnum):
    sent = "sent"
    received = "received"


class ReferralCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "case_id": "3e9d2f7a1b6c4e8d9f0a1b2c3d4e5f60",
                    "to_organization_id": "7a8b9c0d1e2f4a5b8c6d7e8f9a0b1c2d",
                    "service_type": "psychosocial_support",
                    "purpose": "psychosocial_support",
                    "urgency": "high",
                    "categories": ["identity"],
                    "note": "Prefers a female counsellor; speaks Hausa and French.",
                },
                {
                    "case_id": "3e9d2f7a1b6c4e8d9f0a1b2c3d4e5f60",
                    "to_organization_id": "7a8b9c0d1e2f4a5b8c6d7e8f9a0b1c2d",
                    "service_type": "psychosocial_support",
                    "purpose": "psychosocial_support",
                    "categories": ["identity", "contact", "health"],
                    "dry_run": True,
                },
            ]
        },
    )

    case_id: str = Field(min_length=1, max_length=64)
    to_organization_id: str = Field(min_length=1, max_length=64)
    service_type: str = Field(min_length=1, max_length=64)
    purpose: str = Field(min_length=1, max_length=64)
    urgency: str = Field(default="normal", min_length=1, max_length=16)
    categories: list[str] = Field(min_length=1, max_length=50)
    # for the recipient; personal data, sealed, and shown to the recipient only with the payload
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    service_id: str | None = Field(
        default=None,
        max_length=64,
        description="The recipient's service in the directory (GET /v1/services) this referral "
        "is for: one of the recipient's, of the referral's service type. A service that is "
        "full (422 `service_full`) or does not take the subject's age or sex (422 "
        "`service_not_eligible`) is refused unless `override_reason` says why.",
    )
    override_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="Why the referral goes to the service despite its rules; recorded on the "
        "referral (sealed like the note) and in the audit log (its codes, not its words).",
    )
    legal_basis: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="Send without the person's consent, on a legal basis of the policy's "
        "`legal_bases` (`vital_interest`, `best_interests_determination`, ...): only people of "
        "the roles it names invoke it (a client sends On-Behalf-Of); at most its categories "
        "leave, and only once as many consent officers as it requires (none of them the "
        "requester) have approved. Absent: the referral rests on consent.",
    )
    basis_justification: str | None = Field(
        default=None,
        max_length=4000,
        description="Why the legal basis applies, in the requester's words (required with "
        "`legal_basis`); sealed with the case's data key, shown to the consent officers.",
    )
    # true: ask the consent gate what it would do and answer 200 `ReferralDryRun`; nothing is
    # stored but the gate's decision and its audit entry (no referral, review, delivery)
    dry_run: bool = Field(
        default=False,
        description="Ask the consent gate only: 200 with its decision, nothing sent or kept "
        "but the audit entry. An Idempotency-Key is ignored.",
    )


class ReferralResubmit(BaseModel):
    """A referral sent back for correction, resubmitted; each field given replaces the
    referral's own (checked against the policy's vocabularies like a new referral's)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "note": "Categories narrowed as the consent officer asked.",
                    "categories": ["identity"],
                }
            ]
        },
    )

    # an empty note removes it
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    categories: list[str] | None = Field(default=None, min_length=1, max_length=50)
    purpose: str | None = Field(default=None, min_length=1, max_length=64)


class MoveBody(BaseModel):
    """acknowledge, accept, start: nothing to say."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{}]},
    )


class StartMoveBody(MoveBody):
    """start: optionally the follow-up date (by when the recipient reports how it went, or
    completes); without it, the policy's default for the service type (`follow_up`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{}, {"follow_up_by": "2026-12-15T09:00:00Z"}]},
    )

    follow_up_by: AwareDatetime | None = None


class ReasonBody(BaseModel):
    """decline, cancel. Optional in the schema so a missing reason is 422 `reason_required`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "No capacity at the centre until next month."}]},
    )

    reason: str | None = Field(default=None, max_length=TEXT_MAX)


class DeclineReasonBody(ReasonBody):
    """decline: a coded reason (the policy's `decline_reasons`), words beside it, or both; one
    of the two is needed (422 `reason_required`), an unknown code is 422 `unknown_value`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"reason_code": "no_capacity", "reason": "No place at the centre until March."}
            ]
        },
    )

    reason_code: str | None = Field(default=None, min_length=1, max_length=64)


class OutcomeBody(BaseModel):
    """complete: what came of the service, coded (the policy's `outcomes`), in words, or both;
    one of the two is needed (422 `reason_required`), an unknown code is 422 `unknown_value`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "outcome_code": "service_provided",
                    "outcome": "Eight counselling sessions held; goals met.",
                }
            ]
        },
    )

    outcome: str | None = Field(default=None, max_length=TEXT_MAX)
    outcome_code: str | None = Field(default=None, min_length=1, max_length=64)


class ReferralSummary(BaseModel):
    """What either party may see without anything being decrypted: ids, codes, times.

    Also the answer to every POST (remembered for idempotent replays), so it never holds
    personal data. Fields only the sender sees are null for the recipient.
    """

    id: str
    case_id: str
    from_organization_id: str
    to_organization_id: str
    service_type: str
    purpose: str
    urgency: str
    status: str
    status_reason: str | None
    # the FHIR R4 Task.status of the referral's status
    fhir_status: str
    # the categories disclosed (the consented subset)
    categories: list[str]
    # requested but held back by the consent gate: the sender's to know, not the recipient's
    withheld_categories: list[str] | None
    consent_ids: list[str]
    decision_id: str
    review_id: str | None
    # what the disclosure rests on: `consent`, or the policy's legal basis the sender invoked
    legal_basis: str = "consent"
    # the directory's service named, and the rules of it the sender overrode (codes)
    service_id: str | None = None
    service_override: list[str] | None = None
    sent_at: datetime | None
    acknowledge_by: datetime | None
    overdue: bool
    # the recipient's coded answers: why it declined (`decline_reasons`), how the service ended
    # (`outcomes`); the words beside them are in the history
    decline_reason_code: str | None = None
    outcome_code: str | None = None
    # follow-up past acknowledgement (the policy's `follow_up`): the move owed next (`answer`:
    # accept or decline, `start`, `follow_up`: complete by the follow-up date), by when, and
    # whether it was escalated
    due_move: str | None = None
    due_at: datetime | None = None
    escalated: bool = False
    created_at: datetime
    updated_at: datetime
    # what the caller may do next (POST /v1/referrals/{id}/<action>)
    allowed_actions: list[str]


class ReferralCreated(ReferralSummary):
    # the consent gate's reasons (codes, ids and category names)
    reasons: list[dict[str, Any]]


class ReferralRead(ReferralSummary):
    requested_categories: list[str] | None
    note: str | None
    # why the sender referred despite the service's rules (`service_override`): to the sender,
    # and to the recipient with the payload, like the note
    override_reason: str | None = None
    # to the recipient only: {category: data}, as the consent gate permits at this moment
    payload: dict[str, dict[str, Any]] | None
    # to the recipient, when no payload is given: why (reason codes)
    payload_withheld: list[dict[str, Any]] | None
    # to the recipient with the payload: the date by which it must have erased it (data life:
    # the shortest period of the consents it rests on; null: no limit), then confirmed with
    # POST /v1/referrals/{id}/erasure-confirmation
    erase_by: datetime | None = None
    # to the sender only: the latest review (a consent officer's answer, and why)
    review: ReviewOutcome | None = None


class ListScope(StrEnum):
    # the caller's organisation's own referrals
    own = "own"
    # and those of the offices below it (supervision: metadata only)
    tree = "tree"


class SupervisedReferral(BaseModel):
    """A referral of an office below the caller's, as its supervising office sees it
    (`?scope=tree`): statuses, dates, parties, overdue. No case, no categories, no consent:
    only the consent gate releases a referral's data, and only to its recipient."""

    supervision: Literal[True] = True
    id: str
    from_organization_id: str
    to_organization_id: str
    service_type: str
    purpose: str
    urgency: str
    status: str
    status_reason: str | None
    fhir_status: str
    sent_at: datetime | None
    acknowledge_by: datetime | None
    overdue: bool
    created_at: datetime
    updated_at: datetime


class ReferralPage(BaseModel):
    # with `?scope=tree`, the offices below the caller's appear as `SupervisedReferral`
    items: list[ReferralSummary | SupervisedReferral]
    next: str | None


class ConsentDeniedProblem(BaseModel):
    """The 422 answer when the consent gate denies a referral (RFC 9457)."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    decision_id: str
    reasons: list[dict[str, Any]]


class DryRunDecision(StrEnum):
    """What a real POST with the same body would do: `permit` → 201 `sent`, `review` → 202
    `pending_review`, `deny` → 422 `consent_denied`."""

    permit = "permit"
    review = "review"
    deny = "deny"


class ReferralDryRun(BaseModel):
    """The answer to POST /v1/referrals with `"dry_run": true` (ids, codes and category names
    only)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "dry_run": True,
                    "decision": "review",
                    "sent_categories": ["contact", "health", "identity"],
                    "withheld_categories": ["legal_status"],
                    "reasons": [
                        {"code": "category_not_covered", "categories": ["legal_status"]},
                        {"code": "sensitive_category", "categories": ["health"]},
                    ],
                    "decision_id": "5c1e9b7d2a4f4c3e8b6a0d9f1e2c3b4a",
                }
            ]
        }
    )

    dry_run: bool = True
    decision: DryRunDecision
    # what would leave (on `review`: once a consent officer approves); empty on `deny`
    sent_categories: list[str]
    # requested but held back by the gate, never sent
    withheld_categories: list[str]
    # the gate's reasons, as a real refusal (422 `consent_denied`) would give them
    reasons: list[dict[str, Any]]
    # the gate's stored decision (context `dry_run`), the record of this question
    decision_id: str
