"""The disclosure rules of the policy file: reason codes, their effects, review triggers, the
child age bands, the acknowledgement windows and the review time limits. Loaded and
cross-checked by `hub.policy.loader`; applied by `hub.consent.gate` (and the referral and
review deadlines), never re-stated in code elsewhere.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, StrictBool


class Reason(StrEnum):
    """Every machine-readable reason the consent gate can give (the `code` of a reason)."""

    # the request itself
    unknown_value = "unknown_value"
    case_erased = "case_erased"
    nothing_permitted = "nothing_permitted"
    # the data sharing agreement
    no_agreement = "no_agreement"
    agreement_not_covering = "agreement_not_covering"
    # the consents
    no_consent = "no_consent"
    consent_withdrawn = "consent_withdrawn"
    consent_expired = "consent_expired"
    recipient_excluded = "recipient_excluded"
    recipient_not_covered = "recipient_not_covered"
    purpose_not_covered = "purpose_not_covered"
    category_not_covered = "category_not_covered"
    # children
    caregiver_consent_missing = "caregiver_consent_missing"
    child_assent_missing = "child_assent_missing"
    child_consent_missing = "child_consent_missing"
    # an adult's data: a consent a caregiver gave does not count
    caregiver_consent_for_adult = "caregiver_consent_for_adult"
    # review triggers
    recipient_government = "recipient_government"
    sensitive_category = "sensitive_category"
    verbal_without_witness = "verbal_without_witness"
    stale_consent = "stale_consent"
    child_case = "child_case"
    # a disclosure asked for on a legal basis other than consent (`hub.policy.legal_bases`)
    legal_basis = "legal_basis"


class Effect(StrEnum):
    deny = "deny"  # the whole request is refused
    review = "review"  # held for a consent officer
    note = "note"  # recorded with the decision; what it concerns is withheld, nothing more


# The core promise, which no policy file may soften: these always deny.
ALWAYS_DENY: frozenset[Reason] = frozenset(
    {
        Reason.unknown_value,
        Reason.case_erased,
        Reason.nothing_permitted,
        Reason.no_agreement,
        Reason.no_consent,
        Reason.consent_withdrawn,
        Reason.consent_expired,
        Reason.recipient_excluded,
    }
)


# Consent officers decide these, whatever the policy file says: a disclosure without consent is
# never released by a rule alone.
ALWAYS_REVIEW: frozenset[Reason] = frozenset({Reason.legal_basis})


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: StrictBool


class RecipientKindTrigger(Trigger):
    # organisation kinds that count as government bodies
    kinds: tuple[str, ...] = Field(min_length=1)


class StaleConsentTrigger(Trigger):
    # a consent given longer ago than this is reviewed (counted from `given_at`)
    max_age_days: PositiveInt = Field(le=36_500)


class ReviewTriggers(BaseModel):
    """Each trigger, when enabled, adds its reason; `effects` says what that reason does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipient_government: RecipientKindTrigger
    sensitive_category: Trigger
    verbal_without_witness: Trigger
    stale_consent: StaleConsentTrigger
    child_case: Trigger
    agreement_not_covering: Trigger


class ChildAgeBands(BaseModel):
    """Ages in whole years at the moment of the decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    caregiver_consent_under: PositiveInt = Field(le=25)
    child_assent_from: int = Field(ge=0, le=25)
    child_consent_from: int = Field(ge=0, le=25)


class AcknowledgementWindow(BaseModel):
    """A time limit: a deadline, a reminder before it, an escalation after it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deadline_hours: float = Field(gt=0, le=24 * 90)
    remind_before_hours: float = Field(ge=0, le=24 * 90)
    escalate_after_hours: float = Field(ge=0, le=24 * 90)

    @property
    def deadline(self) -> timedelta:
        """From the start (sending, or the request being held) to the deadline."""
        return timedelta(hours=self.deadline_hours)

    @property
    def remind_before(self) -> timedelta:
        """How long before the deadline the reminder goes."""
        return timedelta(hours=self.remind_before_hours)

    @property
    def escalate_after(self) -> timedelta:
        """How long after the deadline it is escalated."""
        return timedelta(hours=self.escalate_after_hours)


class ByUrgency(BaseModel):
    """One time limit per urgency (the urgencies a referral may have)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    emergency: AcknowledgementWindow
    high: AcknowledgementWindow
    normal: AcknowledgementWindow

    def window(self, urgency: str) -> AcknowledgementWindow:
        if urgency not in type(self).model_fields:
            raise KeyError(urgency)
        window: AcknowledgementWindow = getattr(self, urgency)
        return window

    def windows(self) -> list[tuple[str, AcknowledgementWindow]]:
        """Each urgency with its time limit, most urgent first."""
        return [(urgency, self.window(urgency)) for urgency in type(self).model_fields]


class Acknowledgement(ByUrgency):
    """Acknowledgement windows by referral urgency."""


class ReviewLimits(ByUrgency):
    """Time limits for a consent officer to decide a held request, by its urgency (a transfer
    has none: `normal`). Past the deadline it is flagged overdue; `escalate_after` later it is
    escalated to the office above the requesting one."""


class FollowUpDate(BaseModel):
    """The follow-up date: the recipient sets it when starting the service, else it is
    `default_days` after the start (`days_by_service_type` overrides it for a service type).
    The same reminder and escalation for every urgency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_days: PositiveInt = Field(le=3650)
    days_by_service_type: dict[str, PositiveInt] = Field(default_factory=dict)
    remind_before_hours: float = Field(ge=0, le=24 * 90)
    escalate_after_hours: float = Field(ge=0, le=24 * 90)

    def days_for(self, service_type: str) -> int:
        return self.days_by_service_type.get(service_type, self.default_days)

    @property
    def remind_before(self) -> timedelta:
        return timedelta(hours=self.remind_before_hours)

    @property
    def escalate_after(self) -> timedelta:
        return timedelta(hours=self.escalate_after_hours)

    def windows(self) -> list[tuple[str, FollowUpDate]]:
        return [(urgency, self) for urgency in ByUrgency.model_fields]


class Audience(StrEnum):
    """Whom a deadline's notice reaches in person (`follow_up.notify` in the policy): a side of
    the request (the sender, the recipient) and who there. `hub.users.roles.AUDIENCE_ROLES`
    says which people each one is."""

    sender_case_worker = "sender_case_worker"  # the person who made the request, if a person did
    sender_case_workers = "sender_case_workers"
    sender_consent_officers = "sender_consent_officers"
    sender_admins = "sender_admins"
    recipient_case_workers = "recipient_case_workers"
    recipient_consent_officers = "recipient_consent_officers"
    recipient_admins = "recipient_admins"


class Notify(BaseModel):
    """Who is notified in person (the console's "needs your attention", and by email when the
    hub has a mail server) at each step of a request's deadline (the acknowledgement, the
    follow-up stages, a transfer's acceptance), besides the organisations' channels: before it
    (`reminder`), at it (`overdue`), past it (`escalation`; for the acknowledgement, the
    referral failing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reminder: tuple[Audience, ...] = ()
    overdue: tuple[Audience, ...] = ()
    escalation: tuple[Audience, ...] = ()

    def audiences(self, step: str) -> tuple[Audience, ...]:
        found: tuple[Audience, ...] = getattr(self, step)
        return found


class TransferRequestAnswer(BaseModel):
    """How long the owner of a case has to answer a transfer request (with a transfer, or a
    refusal): `default`, or the window given for the request's urgency in `by_urgency`; reminded,
    flagged overdue and escalated like the rest. A request still unanswered `expire_after_hours`
    past its deadline expires (`hub.transfers.requests.deadlines`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: AcknowledgementWindow = AcknowledgementWindow(
        deadline_hours=72, remind_before_hours=24, escalate_after_hours=24
    )
    by_urgency: dict[str, AcknowledgementWindow] = Field(default_factory=dict)
    expire_after_hours: float = Field(default=336, gt=0, le=24 * 365)

    def window(self, urgency: str) -> AcknowledgementWindow:
        return self.by_urgency.get(urgency, self.default)

    def windows(self) -> list[tuple[str, AcknowledgementWindow]]:
        """Each urgency a request may have, with its window, most urgent first."""
        return [(urgency, self.window(urgency)) for urgency in ByUrgency.model_fields]

    @property
    def expire_after(self) -> timedelta:
        return timedelta(hours=self.expire_after_hours)


class FollowUp(BaseModel):
    """A referral's deadlines past its acknowledgement, one per move the recipient owes next
    (`hub.referrals.follow_up`): `answer` (accept or decline, counted from the
    acknowledgement), `start` (from the acceptance), `follow_up` (the follow-up date); and a
    transfer's acceptance (`hub.transfers.deadlines`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: ByUrgency
    start: ByUrgency
    follow_up: FollowUpDate
    # a transfer's acceptance (accept or reject), counted from its offer (a transfer has no
    # urgency: one window)
    transfer_acceptance: AcknowledgementWindow
    # a transfer request answered by the case's owner (a transfer, or a refusal)
    transfer_request: TransferRequestAnswer = Field(default_factory=TransferRequestAnswer)
    # the people told at each step of all of the above (their organisations are told as well)
    notify: Notify = Field(default_factory=Notify)


def age_band(children: ChildAgeBands, age: int | None) -> str:
    """The subject's band by the policy's child ages: `under_<assent>`,
    `<assent>_to_<consent - 1>`, `<consent>_to_<caregiver - 1>`, `adult`; `unknown` without an
    age. With the default policy: under_6, 6_to_14, 15_to_17, adult."""
    if age is None:
        return "unknown"
    assent, consent, adult = (
        children.child_assent_from,
        children.child_consent_from,
        children.caregiver_consent_under,
    )
    if age >= adult:
        return "adult"
    if age >= consent:
        return f"{consent}_to_{adult - 1}"
    if age >= assent:
        return f"{assent}_to_{consent - 1}"
    return f"under_{assent}"


# the age bands reports disaggregate by (as humanitarian data commonly is): lower bound, label
REPORT_AGE_BANDS = ((60, "60+"), (18, "18-59"), (12, "12-17"), (5, "5-11"), (0, "0-4"))


def report_age_band(age: int | None) -> str:
    """The subject's band for reports (`REPORT_AGE_BANDS`); `unknown` without an age."""
    if age is None:
        return "unknown"
    return next(label for bound, label in REPORT_AGE_BANDS if age >= bound)


class Reporting(BaseModel):
    """Reports without personal data: counts under `small_cell_threshold` are shown as
    "<threshold"; `labels` names the reports' headings and codes by language (a code with no
    label is shown as it is)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    small_cell_threshold: PositiveInt = Field(default=5, le=100)
    # the level of the directory's area code path a referral's area is counted at (1: the top,
    # `NE` of `NE/NE-AG/NE-AG-ARL`)
    area_level: PositiveInt = Field(default=1, le=10)
    labels: dict[str, dict[str, str]] = Field(default_factory=dict)


class ServiceDirectoryRules(BaseModel):
    """The service directory's upkeep: an entry last verified more than
    `verify_every_months` months ago (or never) is shown as due for verification."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verify_every_months: PositiveInt = Field(default=6, le=60)
