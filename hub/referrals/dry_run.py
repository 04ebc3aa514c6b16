"""A referral's dry run (`POST /v1/referrals` with `"dry_run": true`, and the console's "check
before sending"): what `sending.create` would do with the same body, through the same checks and
the same gate, read the way `create` reads the gate's answer; nothing is held, sent or queued.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.cases import service as cases
from hub.consent.answers import STOPPED, Answer, meaning
from hub.consent.gate import Decision
from hub.crypto.keyring import KeyEncryptionKeys
from hub.policy.loader import Policy
from hub.referrals import sending
from hub.referrals.schemas import DryRunDecision, ReferralCreate, ReferralDryRun

DRY_RUN_CONTEXT = "dry_run"


def would_do(policy: Policy, decision: Decision) -> DryRunDecision:
    """What `create` does with this decision, read the way `create` and `hold` read it
    (`meaning`): refused, held for review, or sent."""
    answer = meaning(policy, decision)
    if answer in STOPPED:
        return DryRunDecision.deny
    if answer is Answer.review:
        return DryRunDecision.review
    return DryRunDecision.permit


def dry_run(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    actor: str,
    organization_id: str,
    data: ReferralCreate,
) -> ReferralDryRun:
    """Ask the gate about a referral without making it: the same checks as `create` (the
    vocabularies, the recipient, the caller's case: the same problems), the same gate; only the
    gate's decision (context `dry_run`) and its audit entry are stored. Nothing is held, sent or
    queued, and no `referral.refused` is written: nothing was attempted."""
    recipient = sending.check_request(db, policy, data, organization_id)
    # a closed case is refused here as it would be when sent (409 `case_closed`)
    case = cases.open_for_requests(db=db, case_id=data.case_id, organization_id=organization_id)
    if data.service_id is not None:
        # the directory's rules as `create` meets them (422 `service_full`, ...)
        sending.check_service(db=db, keyring=keyring, case=case, data=data)
    legal_basis = sending.check_basis(
        db=db, policy=policy, data=data, actor=actor, sender=organization_id
    )
    decision = sending.ask_gate(
        db=db,
        keyring=keyring,
        policy=policy,
        case=case,
        recipient=recipient,
        purpose=data.purpose,
        categories=data.categories,
        actor=actor,
        context=DRY_RUN_CONTEXT,
        legal_basis=legal_basis,
    )
    outcome = would_do(policy, decision)
    sent = [] if outcome is DryRunDecision.deny else list(decision.permitted_categories)
    return ReferralDryRun(
        decision=outcome,
        sent_categories=sent,
        withheld_categories=list(decision.withheld_categories),
        reasons=list(decision.reasons),
        decision_id=decision.id,
    )
