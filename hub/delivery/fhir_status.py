"""What a partner's Task.status means for the referral: the recipient's moves that catch up.

Both directions come from `hub.referrals.lifecycle`: the status a partner's Task reports is the
referral status whose `FHIR_TASK_STATUS` it is, among the statuses the recipient's own moves
reach, and the path there is searched in `MOVES`. Nothing here restates the lifecycle.
"""

from __future__ import annotations

from collections import deque

from hub.lifecycle import Party
from hub.referrals.lifecycle import FHIR_TASK_STATUS, FINAL, MOVES

# The recipient's moves only. A partner's `cancelled`, `failed`, `on-hold` (or `requested`,
# `ready`, `draft`, `entered-in-error`) moves nothing: cancelling is the sender's move and
# failing the hub's, and a partner cannot make them on their behalf.
RECIPIENT_MOVES = {action: m for action, m in MOVES.items() if m.party is Party.recipient}

# Task.status -> the referral status the recipient has reached:
# received -> acknowledged, accepted -> accepted, rejected -> declined,
# in-progress -> in_progress, completed -> completed
REFERRAL_STATUS_FOR_TASK: dict[str, str] = {
    FHIR_TASK_STATUS[m.target]: m.target for m in RECIPIENT_MOVES.values()
}


def actions_to_reach(current: str, task_status: str) -> list[str]:
    """The recipient's actions, in order, from `current` to what `task_status` says.

    Shortest path over the recipient's moves (so `delivered` + `rejected` is a plain
    `decline`). Empty when there is nothing to do: the Task status means no move, the referral
    is final, already there or past it, or the lifecycle has no way there.
    """
    target = REFERRAL_STATUS_FOR_TASK.get(task_status)
    if target is None or current in FINAL or current == target:
        return []
    paths: dict[str, list[str]] = {current: []}
    queue = deque([current])
    while queue:
        status = queue.popleft()
        for action, m in RECIPIENT_MOVES.items():
            if status in m.sources and m.target not in paths:
                paths[m.target] = [*paths[status], action]
                if m.target == target:
                    return paths[target]
                queue.append(m.target)
    return []
