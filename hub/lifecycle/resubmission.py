"""Resubmitting a request a consent officer sent back for correction, written once for
referrals and transfers.

Returned: the officer's `return` (a `review.decided` outbox message with outcome `returned`,
`hub.lifecycle.decisions`) moves the held request to `returned`; nothing leaves. The sender
reads why in the request (`review`), then resubmits it, amending it if it likes, or cancels it.

Resubmitted: only the sender, only a `returned` request (409 `invalid_transition` otherwise,
before anything changes); the amendments are made, the sender's `resubmit` recorded, and the
gate asked again exactly as when the request was made:

- withdrawn or denied → the hub's `deny` (reason `consent_denied`); nothing leaves;
- review → held again, and a new review opened, requested by whoever resubmitted it;
- permit → the hub's `release`, and the request goes on as when it is sent.

Each domain says what differs (`Resubmitted`): its table and object type, how the gate is
asked, how a request is held, and how it goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from hub.consent.answers import STOPPED, meaning
from hub.consent.gate import Decision
from hub.crypto.keyring import KeyEncryptionKeys
from hub.lifecycle import check, history, reasons
from hub.lifecycle.tables import Move, Party
from hub.policy.loader import Policy

ACTION = "resubmit"
CONTEXT = "resubmitted"  # what the gate's decision says it was asked for


class Returned(history.Tracked, Protocol):
    """A referral or a transfer sent back: what its resubmission reads and sets."""

    decision_id: str | None


@dataclass(frozen=True)
class Resubmitted:
    """A domain's returned requests, as their resubmission needs them."""

    table: dict[str, Move]
    object_type: str  # the lifecycle events' and the audit's: "referral", "transfer"
    # (db, keyring, policy, request, actor) → the gate's decision on the request as it now
    # stands, asked in `CONTEXT`
    ask: Callable[[Session, KeyEncryptionKeys, Policy, Any, str], Decision]
    # (db, keyring, policy, request, decision, actor) → records the gate's permit or review;
    # on review opens one, requested by `actor`, and answers True
    hold: Callable[[Session, KeyEncryptionKeys, Policy, Any, Decision, str], bool]
    # (db, keyring, policy, request, decision): sends the permitted request on (its status
    # already moved)
    release: Callable[[Session, KeyEncryptionKeys, Policy, Any, Decision], None]


def resubmit(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    kind: Resubmitted,
    held: Returned,
    party: Party,
    actor: str,
    organization_id: str,
    amend: Callable[[], None],
) -> Decision:
    """Resubmit a returned request (resolved for the caller's organisation and locked) by
    `party`, the caller's side of it: `amend` makes the caller's amendments once the move is
    known to be legal. Returns the gate's decision (see the module for what follows it)."""
    check(kind.table, ACTION, status=held.status, party=party, reason=None)
    amend()

    def move(action: str, by: Party, who: str, org: str | None, code: str | None = None) -> None:
        history.apply(
            db=db,
            keyring=keyring,
            table=kind.table,
            object_type=kind.object_type,
            tracked=held,
            action=action,
            party=by,
            actor=who,
            organization_id=org,
            reason_code=code,
        )

    move(ACTION, party, actor, organization_id)
    decision = kind.ask(db, keyring, policy, held, actor)
    if meaning(policy, decision) in STOPPED:
        held.decision_id = decision.id
        # the gate's answer, not an officer's: the hub makes this move
        move("deny", Party.reviewer, reasons.SYSTEM_ACTOR, None, reasons.CONSENT_DENIED)
        return decision
    if not kind.hold(db, keyring, policy, held, decision, actor):
        move("release", Party.system, reasons.SYSTEM_ACTOR, None)
        kind.release(db, keyring, policy, held, decision)
    return decision
