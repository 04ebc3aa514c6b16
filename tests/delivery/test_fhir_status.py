"""A partner's Task.status, turned into the recipient's moves on the referral."""

from __future__ import annotations

import pytest

from hub.delivery.fhir_status import REFERRAL_STATUS_FOR_TASK, actions_to_reach
from hub.lifecycle import Party
from hub.referrals.lifecycle import FINAL, MOVES


def test_the_mapping() -> None:
    assert REFERRAL_STATUS_FOR_TASK == {
        "received": "acknowledged",
        "accepted": "accepted",
        "rejected": "declined",
        "in-progress": "in_progress",
        "completed": "completed",
    }


def test_every_status_the_recipient_can_reach_has_its_own_task_status() -> None:
    targets = {m.target for m in MOVES.values() if m.party is Party.recipient}
    assert set(REFERRAL_STATUS_FOR_TASK.values()) == targets


@pytest.mark.parametrize(
    ("current", "task_status", "actions"),
    [
        ("delivered", "completed", ["acknowledge", "accept", "start", "complete"]),
        ("sent", "in-progress", ["acknowledge", "accept", "start"]),
        ("delivered", "received", ["acknowledge"]),
        ("delivered", "accepted", ["acknowledge", "accept"]),
        ("delivered", "rejected", ["decline"]),
        ("acknowledged", "accepted", ["accept"]),
        ("acknowledged", "rejected", ["decline"]),
        ("accepted", "completed", ["start", "complete"]),
        ("in_progress", "completed", ["complete"]),
    ],
)
def test_path_to_the_partner_status(current: str, task_status: str, actions: list[str]) -> None:
    assert actions_to_reach(current, task_status) == actions


@pytest.mark.parametrize(
    ("current", "task_status"),
    [
        # already there, or past it
        ("acknowledged", "received"),
        ("accepted", "accepted"),
        ("accepted", "received"),
        ("in_progress", "accepted"),
        # the lifecycle has no way there
        ("accepted", "rejected"),
        ("in_progress", "rejected"),
        ("pending_review", "received"),
        # final referrals do not move
        ("completed", "rejected"),
        ("declined", "accepted"),
        ("cancelled", "completed"),
        ("failed", "received"),
        ("denied", "received"),
        # statuses that mean no move by the recipient
        ("delivered", "requested"),
        ("delivered", "ready"),
        ("delivered", "draft"),
        ("delivered", "cancelled"),
        ("delivered", "failed"),
        ("accepted", "on-hold"),
        ("delivered", "entered-in-error"),
        ("delivered", "not-a-status"),
    ],
)
def test_nothing_to_do(current: str, task_status: str) -> None:
    assert actions_to_reach(current, task_status) == []


@pytest.mark.parametrize("task_status", sorted(REFERRAL_STATUS_FOR_TASK))
@pytest.mark.parametrize("current", sorted({s for m in MOVES.values() for s in m.sources}))
def test_every_path_is_legal_and_ends_where_the_partner_is(current: str, task_status: str) -> None:
    status = current
    for action in actions_to_reach(current, task_status):
        move = MOVES[action]
        assert move.party is Party.recipient
        assert status in move.sources
        status = move.target
    if status != current:
        assert status == REFERRAL_STATUS_FOR_TASK[task_status]
    assert current not in FINAL or status == current
