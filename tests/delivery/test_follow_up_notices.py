"""Who is told of the follow-up deadlines past the acknowledgement: the recipient is reminded,
the sender learns it is overdue, and an escalation reaches both (as does a referral failed as
never acknowledged), each once, through the outbox."""

from __future__ import annotations

import json
from datetime import timedelta

from hub.clock import clock
from hub.referrals import deadlines, follow_up
from tests.delivery.test_notices import _events, _hook
from tests.support.api import Partner
from tests.support.outbox_drain import drain
from tests.support.referral_world import World
from tests.support.webhook_receiver import WebhookReceiver


def test_follow_up_notices_reach_whom_the_policy_says(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    with WebhookReceiver() as sender_hook:
        _hook(world, admin, world.recipient, receiver.url)
        _hook(world, admin, world.sender, sender_hook.url)
        referral_id = world.sent()  # normal: 120 h to answer once acknowledged
        assert world.act(referral_id, "acknowledge", world.recipient).status_code == 200
        drain(world.runtime)
        before = (len(_events(receiver)), len(_events(sender_hook)))

        clock.advance(timedelta(hours=97))  # reminded 24 h before the deadline
        follow_up.run(world.runtime)
        drain(world.runtime)
        assert _events(receiver)[before[0] :] == ["referral.follow_up_reminder"]
        assert _events(sender_hook)[before[1] :] == []

        clock.advance(timedelta(hours=24))  # past it
        follow_up.run(world.runtime)
        drain(world.runtime)
        assert _events(sender_hook)[before[1] :] == ["referral.follow_up_overdue"]

        clock.advance(timedelta(hours=48))  # escalated 48 h past it: both are told, once
        follow_up.run(world.runtime)
        follow_up.run(world.runtime)
        drain(world.runtime)
        assert _events(receiver)[before[0] :] == [
            "referral.follow_up_reminder",
            "referral.escalated",
        ]
        assert _events(sender_hook)[before[1] :] == [
            "referral.follow_up_overdue",
            "referral.escalated",
        ]
        escalation = json.loads(sender_hook.snapshot()[-1].body)["referral"]
        assert (escalation["id"], escalation["due_move"]) == (referral_id, "answer")
        assert escalation["escalated"] is True and escalation["status"] == "acknowledged"


def test_a_referral_failed_as_never_acknowledged_reaches_both_parties(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    with WebhookReceiver() as sender_hook:
        _hook(world, admin, world.recipient, receiver.url)
        _hook(world, admin, world.sender, sender_hook.url)
        world.sent(urgency="emergency")  # 4 h to acknowledge, failed 1 h past it
        drain(world.runtime)
        clock.advance(timedelta(hours=6))
        deadlines.run(world.runtime)
        drain(world.runtime)
        assert "referral.failed" in _events(receiver)
        assert "referral.failed" in _events(sender_hook)
