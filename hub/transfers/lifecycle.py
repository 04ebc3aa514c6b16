"""The case transfer lifecycle, as data. See DESIGN.md "Lifecycles"."""

from __future__ import annotations

from hub.lifecycle import PENDING_REVIEW, RETURNED, Move, Party, move

# PENDING_REVIEW (held for a consent officer) and RETURNED (sent back for correction; the
# sender resubmits or cancels it) are shared with the other lifecycle: `hub.lifecycle`
SENT = "sent"
ACCEPTED = "accepted"
REJECTED = "rejected"
COMPLETED = "completed"
CANCELLED = "cancelled"

FINAL = frozenset({REJECTED, COMPLETED, CANCELLED})
WITHDRAWABLE = frozenset({PENDING_REVIEW, RETURNED, SENT})

MOVES: dict[str, Move] = {
    # acceptance and the move of ownership are one transaction: accepted, then completed
    "accept": move(SENT, to=ACCEPTED, by=Party.recipient),
    "complete": move(ACCEPTED, to=COMPLETED, by=Party.system),
    "reject": move(SENT, to=REJECTED, by=Party.recipient, reason=True),
    "cancel": move(PENDING_REVIEW, RETURNED, SENT, to=CANCELLED, by=Party.sender, reason=True),
    # the gate is asked again (`hub.transfers.resubmission`): held again, sent, or cancelled
    "resubmit": move(RETURNED, to=PENDING_REVIEW, by=Party.sender),
    "approve": move(PENDING_REVIEW, to=SENT, by=Party.reviewer),
    "deny": move(PENDING_REVIEW, to=CANCELLED, by=Party.reviewer, reason=True),
    "return": move(PENDING_REVIEW, to=RETURNED, by=Party.reviewer, reason=True),
    # resubmitted, and the gate now permits it without review
    "release": move(PENDING_REVIEW, to=SENT, by=Party.system),
    "withdraw_consent": move(*WITHDRAWABLE, to=CANCELLED, by=Party.system, reason=True),
    # the case was erased while the transfer waited for a consent officer or its resubmission:
    # nothing is left to offer (`hub.erasure.service`)
    "erase_case": move(PENDING_REVIEW, RETURNED, to=CANCELLED, by=Party.system, reason=True),
    # the gate, asked again right before the offer is pushed, no longer permits it
    "block": move(SENT, to=CANCELLED, by=Party.system, reason=True),
}
