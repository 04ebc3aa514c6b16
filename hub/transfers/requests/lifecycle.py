"""The transfer request lifecycle, as data (`hub.lifecycle`): the requester is the `sender`,
the owner of the case the `recipient`."""

from __future__ import annotations

from hub.lifecycle import Move, Party, move

REQUESTED = "requested"
ANSWERED = "answered_with_transfer"
REFUSED = "refused"
WITHDRAWN = "withdrawn"
EXPIRED = "expired"

STATUSES = (REQUESTED, ANSWERED, REFUSED, WITHDRAWN, EXPIRED)
FINAL = frozenset({ANSWERED, REFUSED, WITHDRAWN, EXPIRED})

MOVES: dict[str, Move] = {
    # the owner proposes a transfer naming the request (POST /v1/transfers): same transaction
    "answer": move(REQUESTED, to=ANSWERED, by=Party.recipient),
    # the owner refuses, with a code of the policy's `transfer_request_refusals`
    "refuse": move(REQUESTED, to=REFUSED, by=Party.recipient, reason=True),
    "withdraw": move(REQUESTED, to=WITHDRAWN, by=Party.sender),
    # unanswered past the policy's `expire_after_hours` beyond its deadline
    "expire": move(REQUESTED, to=EXPIRED, by=Party.system),
}
