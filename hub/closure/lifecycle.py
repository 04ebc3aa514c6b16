"""The case's own lifecycle, as data (the referral's and the transfer's are beside theirs)."""

from __future__ import annotations

from hub.cases.service import CLOSED, OPEN
from hub.lifecycle import Move, Party, move

OBJECT_TYPE = "case"

MOVES: dict[str, Move] = {
    # the owner's (POST /v1/cases/{id}/<action>); closing needs the coded reason
    # (the policy's `closure_reasons`), and says what becomes of the open requests
    "close": move(OPEN, to=CLOSED, by=Party.owner, reason=True),
    "reopen": move(CLOSED, to=OPEN, by=Party.owner),
}
