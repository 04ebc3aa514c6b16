"""The referral lifecycle, as data. See DESIGN.md "Lifecycles"."""

from __future__ import annotations

from hub.lifecycle import PENDING_REVIEW, RETURNED, Move, Party, move

# PENDING_REVIEW (held for a consent officer) and RETURNED (sent back for correction; the
# sender resubmits or cancels it) are shared with the other lifecycle: `hub.lifecycle`
SENT = "sent"
DELIVERED = "delivered"
ACKNOWLEDGED = "acknowledged"
ACCEPTED = "accepted"
DECLINED = "declined"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
CANCELLED = "cancelled"
DENIED = "denied"
FAILED = "failed"

FINAL = frozenset({DECLINED, COMPLETED, CANCELLED, DENIED, FAILED})
# the one way back from a final status: a referral that failed as undeliverable is sent again
REOPENING = frozenset({"redeliver"})
# still waiting for the recipient's acknowledgement: the deadline job watches these
AWAITING_ACKNOWLEDGEMENT = frozenset({SENT, DELIVERED})
# not yet answered by the recipient: a consent withdrawal cancels these
WITHDRAWABLE = frozenset({PENDING_REVIEW, RETURNED, SENT, DELIVERED})

MOVES: dict[str, Move] = {
    # the recipient's moves (POST /v1/referrals/{id}/<action>)
    "acknowledge": move(SENT, DELIVERED, to=ACKNOWLEDGED, by=Party.recipient),
    "accept": move(ACKNOWLEDGED, to=ACCEPTED, by=Party.recipient),
    "decline": move(SENT, DELIVERED, ACKNOWLEDGED, to=DECLINED, by=Party.recipient, reason=True),
    "start": move(ACCEPTED, to=IN_PROGRESS, by=Party.recipient),
    "complete": move(IN_PROGRESS, to=COMPLETED, by=Party.recipient, reason=True, says="outcome"),
    # the sender's
    "cancel": move(
        PENDING_REVIEW,
        RETURNED,
        SENT,
        DELIVERED,
        ACKNOWLEDGED,
        ACCEPTED,
        IN_PROGRESS,
        to=CANCELLED,
        by=Party.sender,
        reason=True,
    ),
    # the gate is asked again (`hub.referrals.resubmission`): held again, sent, or denied
    "resubmit": move(RETURNED, to=PENDING_REVIEW, by=Party.sender),
    # a consent officer's
    "approve": move(PENDING_REVIEW, to=SENT, by=Party.reviewer),
    "deny": move(PENDING_REVIEW, to=DENIED, by=Party.reviewer, reason=True),
    "return": move(PENDING_REVIEW, to=RETURNED, by=Party.reviewer, reason=True),
    # the hub's own
    "deliver": move(SENT, to=DELIVERED, by=Party.system),
    # resubmitted, and the gate now permits it without review
    "release": move(PENDING_REVIEW, to=SENT, by=Party.system),
    "withdraw_consent": move(*WITHDRAWABLE, to=CANCELLED, by=Party.system, reason=True),
    # the case was erased while the referral waited for a consent officer or its resubmission:
    # nothing is left to send (`hub.erasure.service`)
    "erase_case": move(PENDING_REVIEW, RETURNED, to=CANCELLED, by=Party.system, reason=True),
    "fail": move(SENT, DELIVERED, to=FAILED, by=Party.system, reason=True),
    # the gate, asked again right before a push, no longer permits it
    "block": move(SENT, to=CANCELLED, by=Party.system, reason=True),
    # a referral that failed for want of delivery, sent again once its channel is mended (the
    # sender or an administrator asks; `hub.delivery.service.redeliver` checks who)
    "redeliver": move(FAILED, to=SENT, by=Party.system),
}

# FHIR R4 Task.status for each status (DESIGN.md)
FHIR_TASK_STATUS: dict[str, str] = {
    PENDING_REVIEW: "on-hold",
    SENT: "requested",
    DELIVERED: "requested",
    ACKNOWLEDGED: "received",
    ACCEPTED: "accepted",
    DECLINED: "rejected",
    IN_PROGRESS: "in-progress",
    COMPLETED: "completed",
    CANCELLED: "cancelled",
    DENIED: "cancelled",
    FAILED: "failed",
    RETURNED: "on-hold",
}
