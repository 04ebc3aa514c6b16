"""Lifecycles of referrals and transfers: the tables of legal moves (`tables`), the one place
a move is applied and its history kept (`history`, `models`, `schemas`), the status reason
codes (`reasons`), and the parties' move routes made from the tables (`routes`).

The table machinery is what the domains use most, so it is named here too:
`from hub.lifecycle import Party, move`.
"""

from hub.lifecycle.tables import (
    PENDING_REVIEW,
    RETURNED,
    UNDER_REVIEW,
    Move,
    Party,
    allowed_actions,
    check,
    move,
)

__all__ = [
    "PENDING_REVIEW",
    "RETURNED",
    "UNDER_REVIEW",
    "Move",
    "Party",
    "allowed_actions",
    "check",
    "move",
]
