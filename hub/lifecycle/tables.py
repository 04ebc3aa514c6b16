"""Lifecycle tables: which move is legal from which status, and whose move it is.

Each domain declares its table as data (`hub/referrals/lifecycle.py`,
`hub/transfers/lifecycle.py`); `check` is the one place a move is judged. An illegal move is a
409 `invalid_transition`; a move by the wrong party is the domain's to refuse (404 when the
caller is no party at all, 409 when it is the other party).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.api.problems import Conflict, Unprocessable

# Both lifecycles hold a request for a consent officer in `pending_review`, and a request the
# officer sent back for correction waits for its sender in `returned`. A review waits only while
# its request is held: a move out of either by any other route than the review's own decision
# closes it (`hub.lifecycle.history.apply`).
PENDING_REVIEW = "pending_review"
RETURNED = "returned"
UNDER_REVIEW = frozenset({PENDING_REVIEW, RETURNED})


class Party(StrEnum):
    sender = "sender"
    recipient = "recipient"
    reviewer = "reviewer"  # a consent officer deciding a review
    owner = "owner"  # the organisation that owns a case: its own life (`hub.closure.lifecycle`)
    system = "system"  # the hub itself: deliveries, deadlines, withdrawal cascades


@dataclass(frozen=True)
class Move:
    sources: frozenset[str]
    target: str
    party: Party
    reason_required: bool = False
    # what the party's words are called in the move's body (a referral's `complete` takes an
    # `outcome`); the events keep them under that name
    says: str = "reason"


def move(*sources: str, to: str, by: Party, reason: bool = False, says: str = "reason") -> Move:
    return Move(frozenset(sources), to, by, reason, says)


def check(
    table: dict[str, Move], action: str, *, status: str, party: Party, reason: str | None
) -> Move:
    """The move if `party` may make it from `status`; otherwise a problem saying why."""
    rule = table.get(action)
    if rule is None:
        raise Conflict("invalid_transition", f"No such move: {action}")
    if rule.party is not party:
        raise Conflict(
            "invalid_transition",
            f"Only the {rule.party} can {action}",
            current_status=status,
            action=action,
        )
    if status not in rule.sources:
        raise Conflict(
            "invalid_transition",
            f"Cannot {action} from status {status}",
            current_status=status,
            action=action,
            allowed_from=sorted(rule.sources),
        )
    if rule.reason_required and not (reason and reason.strip()):
        raise Unprocessable("reason_required", f"A reason is required to {action}")
    return rule


def allowed_actions(table: dict[str, Move], *, status: str, party: Party) -> list[str]:
    """What this party may do next (shown to clients so they need not guess)."""
    return sorted(a for a, m in table.items() if m.party is party and status in m.sources)
