"""What the gate's answer means for a referral or a transfer: the one place it is read.

Whoever asks the gate about a request — when it is made, resubmitted, approved by a consent
officer, delivered, read by its recipient or accepted — turns the decision into one of four
answers and acts on that:

- `withdrawn`: a consent the request rests on has been withdrawn (it was, before this decision,
  or the gate says so now). The request is cancelled with reason `consent_withdrawn`.
- `denied`: the gate denies it. Nothing leaves; the request is refused or stopped.
- `review`: a consent officer must look at it, and no approved review already covers what the
  gate holds (the same triggers, for at most the same categories).
- `proceed`: it may go, with the decision's permitted categories.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.consent.gate import Decision, Outcome
from hub.consent.models import Consent, ConsentWithdrawal
from hub.policy.loader import Policy
from hub.policy.rules import Effect, Reason


class Answer(StrEnum):
    withdrawn = "withdrawn"
    denied = "denied"
    review = "review"
    proceed = "proceed"


# the answers after which nothing leaves (a request being made is refused)
STOPPED = frozenset({Answer.withdrawn, Answer.denied})


def any_withdrawn(db: Session, consent_ids: Sequence[str]) -> bool:
    """True once any consent series among these consent versions has been withdrawn."""
    if not consent_ids:
        return False
    withdrawn = db.scalar(
        select(ConsentWithdrawal.series_id)
        .join(Consent, Consent.series_id == ConsentWithdrawal.series_id)
        .where(Consent.id.in_(list(consent_ids)))
        .limit(1)
    )
    return withdrawn is not None


def covered(policy: Policy, decision: Decision, approved: Collection[str]) -> bool:
    """True when the review triggers this decision holds are all among those a consent
    officer already approved (`approved`: the codes of an approved review, or nothing)."""
    held = {code for code in decision.codes if policy.effect(Reason(code)) is Effect.review}
    return held <= set(approved)


def meaning(
    policy: Policy,
    decision: Decision,
    *,
    withdrawn_before: bool = False,
    approved: Collection[str] = (),
) -> Answer:
    """The answer (see the module). `withdrawn_before`: a consent the request rested on was
    withdrawn before this decision (`any_withdrawn`); `approved`: the triggers an approved
    review of this request already covered (`hub.reviews.coverage.approved_codes`)."""
    if withdrawn_before or Reason.consent_withdrawn.value in decision.codes:
        return Answer.withdrawn
    if decision.outcome is Outcome.deny:
        return Answer.denied
    # with no approved review, whatever the gate holds waits for a consent officer
    if decision.outcome is Outcome.review and not (
        approved and covered(policy, decision, approved)
    ):
        return Answer.review
    return Answer.proceed
