"""What a consent officer's decision does to the request it held, written once for referrals
and transfers.

A held request (`pending_review`) under this review, and only such a one, is moved; run twice,
the second run finds it moved and does nothing (the `review.decided` outbox message may be
delivered more than once).

- **Denied** → `deny` by the officer, reason `review_denied`.
- **Returned** → `return` by the officer, reason `review_returned`: it waits for its sender.
- **Approved** → the gate is asked again (a consent withdrawn or an agreement ended while the
  review waited still stops it), and its answer (`hub.consent.answers.meaning`) decides:
  `withdrawn` → cancelled by the hub (`consent_withdrawn`); `denied` → denied by the hub
  (`consent_denied`); `review` with something new the approval did not cover (a consent went
  stale meanwhile) → a new review is opened; `proceed` → `approve`, then released.

Each domain says how its requests are found, asked about, moved and released: a `Flow`,
registered for its review kind (`register`); `hub.lifecycle.tasks` dispatches to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from hub.clock import utcnow
from hub.consent.answers import Answer, any_withdrawn, meaning
from hub.consent.gate import Decision
from hub.crypto.keyring import KeyEncryptionKeys
from hub.lifecycle import PENDING_REVIEW, Party, reasons
from hub.policy.loader import Policy
from hub.reviews.coverage import approved_codes
from hub.reviews.models import Review
from hub.reviews.opening import open_review


class Held(Protocol):
    """What a referral and a transfer held for review share."""

    id: str
    case_id: str
    status: str
    from_organization_id: str
    created_by: str
    review_id: str | None
    consent_ids: list[str]
    updated_at: datetime


class Flow(Protocol):
    """A domain's requests, as the review's decision needs them."""

    kind: str  # the review kind: "referral", "transfer"

    def locked(self, db: Session, object_id: str) -> Held | None: ...

    def ask_again(
        self,
        db: Session,
        keyring: KeyEncryptionKeys,
        policy: Policy,
        held: Any,
        actor: str,
        context: str,
    ) -> Decision: ...

    def move(
        self,
        db: Session,
        keyring: KeyEncryptionKeys,
        held: Any,
        action: str,
        party: Party,
        actor: str,
        reason_code: str | None,
    ) -> None: ...

    def record(self, held: Any, decision: Decision) -> None:
        """Remember the new decision on a request that stays held or goes."""

    def review_details(self, db: Session, keyring: KeyEncryptionKeys, held: Any) -> dict[str, Any]:
        """What a new review of the request shows besides the decision (urgency, note)."""

    def release(
        self,
        db: Session,
        keyring: KeyEncryptionKeys,
        policy: Policy,
        held: Any,
        decision: Decision,
    ) -> None:
        """Send the approved request on (its status already moved)."""


# each domain's flow, by review kind; filled by the domains' task modules as the worker starts
# (`hub.wiring`)
FLOWS: dict[str, Flow] = {}


def register(flow: Flow) -> None:
    existing = FLOWS.get(flow.kind)
    if existing is not None and existing is not flow:
        raise ValueError(f"review kind {flow.kind!r} already has a flow")
    FLOWS[flow.kind] = flow


def _held_under(db: Session, flow: Flow, review_id: str) -> tuple[Review, Held] | None:
    review = db.get(Review, review_id)
    if review is None or review.kind != flow.kind:
        return None
    held = flow.locked(db, review.object_id)
    if held is None or held.status != PENDING_REVIEW or held.review_id != review.id:
        return None
    return review, held


def on_review_returned(
    *, db: Session, keyring: KeyEncryptionKeys, flow: Flow, review_id: str
) -> None:
    """The officer sent the held request back. The justification stays on the review, where
    the sender reads it."""
    found = _held_under(db, flow, review_id)
    if found is None:
        return
    review, held = found
    actor = review.decided_by or reasons.SYSTEM_ACTOR
    flow.move(db, keyring, held, "return", Party.reviewer, actor, reasons.REVIEW_RETURNED)


def on_review_decided(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    flow: Flow,
    review_id: str,
    approved: bool,
) -> None:
    """Act on the officer's approval or denial (see the module)."""
    found = _held_under(db, flow, review_id)
    if found is None:
        return
    review, held = found
    actor = review.decided_by or reasons.SYSTEM_ACTOR
    if not approved:
        flow.move(db, keyring, held, "deny", Party.reviewer, actor, reasons.REVIEW_DENIED)
        return
    decision = flow.ask_again(db, keyring, policy, held, actor, "review_approved")
    answer = meaning(
        policy,
        decision,
        withdrawn_before=any_withdrawn(db, held.consent_ids),
        approved=approved_codes(review),
    )
    # the gate's answer, not the officer's: the hub makes these moves
    if answer is Answer.withdrawn:
        flow.move(
            db,
            keyring,
            held,
            "withdraw_consent",
            Party.system,
            reasons.SYSTEM_ACTOR,
            reasons.CONSENT_WITHDRAWN,
        )
        return
    if answer is Answer.denied:
        flow.move(
            db, keyring, held, "deny", Party.reviewer, reasons.SYSTEM_ACTOR, reasons.CONSENT_DENIED
        )
        return
    flow.record(held, decision)
    if answer is Answer.review:
        again = open_review(
            db=db,
            keyring=keyring,
            policy=policy,
            kind=flow.kind,
            object_id=held.id,
            case_id=held.case_id,
            requesting_organization_id=held.from_organization_id,
            requested_by=review.requested_by,
            made_by=held.created_by,
            decision=decision,
            **flow.review_details(db, keyring, held),
        )
        held.review_id = again.id
        held.updated_at = utcnow()
        return
    flow.move(db, keyring, held, "approve", Party.reviewer, actor, None)
    flow.release(db, keyring, policy, held, decision)
