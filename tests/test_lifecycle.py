import pytest

from hub.api.problems import Problem
from hub.lifecycle import Party, allowed_actions, check, move

TABLE = {
    "ack": move("sent", to="acknowledged", by=Party.recipient),
    "decline": move("sent", "acknowledged", to="declined", by=Party.recipient, reason=True),
}


def test_a_legal_move_is_returned() -> None:
    rule = check(TABLE, "ack", status="sent", party=Party.recipient, reason=None)
    assert rule.target == "acknowledged"


@pytest.mark.parametrize(
    ("action", "status", "party", "reason", "code"),
    [
        ("ack", "acknowledged", Party.recipient, None, "invalid_transition"),
        ("ack", "sent", Party.sender, None, "invalid_transition"),
        ("fly", "sent", Party.recipient, None, "invalid_transition"),
        ("decline", "sent", Party.recipient, "  ", "reason_required"),
    ],
)
def test_illegal_moves_are_refused(
    action: str, status: str, party: Party, reason: str | None, code: str
) -> None:
    with pytest.raises(Problem) as err:
        check(TABLE, action, status=status, party=party, reason=reason)
    assert err.value.code == code


def test_allowed_actions_lists_what_the_party_may_do() -> None:
    assert allowed_actions(TABLE, status="sent", party=Party.recipient) == ["ack", "decline"]
    assert allowed_actions(TABLE, status="sent", party=Party.sender) == []
