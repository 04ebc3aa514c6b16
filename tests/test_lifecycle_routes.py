"""The parties' move routes come from the lifecycle tables: one route per sender's or
recipient's move, the body the move asks for, and nothing the tables do not name."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hub.lifecycle import Party
from hub.referrals.lifecycle import MOVES as REFERRAL_MOVES
from hub.runtime import Runtime
from hub.transfers.lifecycle import MOVES as TRANSFER_MOVES
from tests.support.referral_world import make_world


def _posts(api: TestClient, prefix: str) -> dict[str, dict]:
    doc = api.get("/openapi.json").json()
    return {
        path.rsplit("/", 1)[1]: ops["post"]
        for path, ops in doc["paths"].items()
        if path.startswith(prefix + "/{") and path.count("/") == 4 and "post" in ops
    }


@pytest.mark.parametrize(
    ("prefix", "table", "own"),
    [
        # routes of their own beside the table's moves: the erasure confirmation moves nothing
        ("/v1/referrals", REFERRAL_MOVES, {"resubmit", "redeliver", "erasure-confirmation"}),
        ("/v1/transfers", TRANSFER_MOVES, {"accept", "resubmit", "redeliver"}),
    ],
)
def test_every_partys_move_has_its_route(
    api: TestClient, prefix: str, table: dict, own: set[str]
) -> None:
    posts = _posts(api, prefix)
    parties = {a for a, m in table.items() if m.party in (Party.sender, Party.recipient)}
    assert set(posts) - own == parties - own
    for action in parties - own:
        operation = posts[action]
        assert operation["operationId"].startswith(action + "_")
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        ref = str(body.get("schema", {}))
        says = table[action].says
        if table[action].reason_required:
            # the body model with that one member, e.g. ReasonBody or OutcomeBody
            assert says.capitalize() in ref, (action, ref)
        else:
            assert "MoveBody" in ref, (action, ref)


def test_a_generated_move_answers_with_the_tables_rule(runtime: Runtime, api: TestClient) -> None:
    world = make_world(runtime, api)
    referral = world.sent()
    # the sender may not make the recipient's move: 409 with the table's words
    refused = world.act(referral, "acknowledge", world.sender)
    assert refused.status_code == 409
    assert refused.json()["code"] == "invalid_transition"
    # the recipient declines without a reason: the table asks for one
    bare = world.act(referral, "decline", world.recipient)
    assert bare.status_code == 422 and bare.json()["code"] == "reason_required"
    done = world.act(referral, "acknowledge", world.recipient)
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"
    # a referral's `complete` carries an `outcome`, kept in its history under that name
    world.act(referral, "accept", world.recipient)
    world.act(referral, "start", world.recipient)
    completed = world.act(referral, "complete", world.recipient, {"outcome": "sessions held"})
    assert completed.status_code == 200 and completed.json()["status"] == "completed"
