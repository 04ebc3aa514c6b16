"""Status reason codes: why a referral or a transfer is where it is. A code, never free text
(what a party wrote is sealed in the event), and each declared here once for both lifecycles.
"""

from __future__ import annotations

# who the hub's own moves are recorded against (deliveries, deadlines, cascades, the gate)
SYSTEM_ACTOR = "system:hub"

CANCELLED_BY_SENDER = "cancelled_by_sender"
DECLINED_BY_RECIPIENT = "declined_by_recipient"  # a referral
REJECTED_BY_RECIPIENT = "rejected_by_recipient"  # a transfer
CONSENT_WITHDRAWN = "consent_withdrawn"
REVIEW_DENIED = "review_denied"
CONSENT_DENIED = "consent_denied"
REVIEW_REQUIRED = "review_required"
UNDELIVERABLE = "undeliverable"
OWNERSHIP_MOVED = "ownership_moved"
REVIEW_RETURNED = "review_returned"
# the case was erased while the request waited: it is cancelled, and its review closed
CASE_ERASED = "case_erased"
