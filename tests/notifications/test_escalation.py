"""The people the policy's `follow_up.notify` names are notified at each step of a request's
deadline, the acknowledgement's included (a moved clock, the pass in the test process, the
outbox drained): none at the reminder, the sender's case worker when overdue, the recipient's
and the sender's administrators and the sender's case worker at the escalation — each once,
with ids and codes only; nobody else, nobody disabled, nobody of a third organisation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hub.clock import utcnow
from hub.notifications import service as notifications
from hub.notifications.models import Notification
from hub.outbox.models import OutboxMessage
from hub.policy.rules import Audience, Notify
from hub.referrals import deadlines as acknowledgement
from hub.referrals import follow_up
from hub.referrals.models import Referral
from hub.runtime import Runtime
from hub.transfers import deadlines as transfer_deadlines
from hub.transfers.models import Transfer
from hub.users.models import User
from hub.users.roles import AUDIENCE_ROLES
from tests.support import transfer_world
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.people import person
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World


def _notified(runtime: Runtime) -> dict[str, list[tuple[str, str | None, str]]]:
    """user id → [(code, stage, object id)]"""
    found: dict[str, list[tuple[str, str | None, str]]] = {}
    with runtime.sessions() as db:
        for row in db.scalars(select(Notification).order_by(Notification.created_at)):
            found.setdefault(row.user_id, []).append((row.code, row.stage, row.object_id))
    return found


def _people(world: World) -> dict[str, str]:
    runtime = world.runtime
    made = {
        "maker": person(runtime, world.sender.organization_id, "case_worker"),
        "colleague": person(runtime, world.sender.organization_id, "case_worker"),
        "sender_admin": person(runtime, world.sender.organization_id, "admin"),
        "recipient_admin": person(runtime, world.recipient.organization_id, "admin"),
        "recipient_admin_gone": person(runtime, world.recipient.organization_id, "admin"),
        "recipient_worker": person(runtime, world.recipient.organization_id, "case_worker"),
        "recipient_officer": person(runtime, world.recipient.organization_id, "consent_officer"),
        "outsider_admin": person(runtime, world.outsider.organization_id, "admin"),
    }
    with runtime.sessions.begin() as db:
        gone = made["recipient_admin_gone"].id
        db.execute(update(User).where(User.id == gone).values(disabled_at=utcnow()))
    return {name: who.id for name, who in made.items()}


def _sent_by(world: World, user_id: str) -> str:
    """A referral made by a person (the client acting for them)."""
    case_id = world.case()
    world.consent(case_id)
    response = world.refer(case_id, headers=world.sender.acting_for(user_id).headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _pass_at(world: World, moment: datetime) -> follow_up.FollowUpReport:
    report = run_at(follow_up.run, world.runtime, moment)
    drain(world.runtime)  # at the moved clock: what the pass queued is due then
    return report


def test_each_step_notifies_the_people_the_policy_names(world: World) -> None:
    runtime = world.runtime
    who = _people(world)
    referral_id = _sent_by(world, who["maker"])
    response = world.act(referral_id, "acknowledge", world.recipient)
    assert response.status_code == 200, response.text
    with runtime.sessions() as db:
        due = db.get_one(Referral, referral_id).due_at

    assert _pass_at(world, due - timedelta(hours=23)).reminded["answer"] == [referral_id]
    assert _notified(runtime) == {}  # the policy names no one at the reminder

    assert _pass_at(world, due + timedelta(minutes=1)).overdue["answer"] == [referral_id]
    overdue = ("referral.overdue", "answer", referral_id)
    assert _notified(runtime) == {who["maker"]: [overdue]}

    assert _pass_at(world, due + timedelta(hours=49)).escalated["answer"] == [referral_id]
    escalation = ("referral.escalation", "answer", referral_id)
    assert _notified(runtime) == {
        who["maker"]: [overdue, escalation],
        who["sender_admin"]: [escalation],
        who["recipient_admin"]: [escalation],
    }
    # once: a later pass tells no one again
    _pass_at(world, due + timedelta(hours=100))
    assert sum(len(rows) for rows in _notified(runtime).values()) == 4

    # ids and codes only: nothing of the beneficiary in the rows or the outbox's messages
    with runtime.sessions() as db:
        rows = list(db.scalars(select(Notification)))
        messages = list(
            db.scalars(
                select(OutboxMessage).where(OutboxMessage.topic == notifications.NOTIFY_TOPIC)
            )
        )
    stored = repr([vars(r) for r in rows]) + repr([m.payload for m in messages])
    assert CANARY_NAME not in stored and CANARY_NOTE not in stored
    assert {r.organization_id for r in rows} == {
        world.sender.organization_id,
        world.recipient.organization_id,
    }
    assert all(r.read_at is None and r.emailed_at is None for r in rows)  # no mail server


def test_a_referral_a_system_made_notifies_the_administrators_only(world: World) -> None:
    runtime = world.runtime
    who = _people(world)
    referral_id = world.sent(urgency="emergency")  # the client, for no person
    for action in ("acknowledge", "accept"):
        assert world.act(referral_id, action, world.recipient).status_code == 200
    with runtime.sessions() as db:
        due = db.get_one(Referral, referral_id).due_at
    # emergency start: escalated 12 h past the deadline, at once (no reminder or overdue first)
    assert _pass_at(world, due + timedelta(hours=13)).escalated["start"] == [referral_id]
    escalation = [("referral.escalation", "start", referral_id)]
    assert _notified(runtime) == {
        who["sender_admin"]: escalation,
        who["recipient_admin"]: escalation,
    }


def test_a_transfer_offer_escalated_notifies_them_too(runtime: Runtime, api: TestClient) -> None:
    world = transfer_world.make_world(runtime, api)
    maker = person(runtime, world.sender.organization_id, "case_worker").id
    sender_admin = person(runtime, world.sender.organization_id, "admin").id
    ngo_admin = person(runtime, world.ngo.organization_id, "admin").id
    case_id = world.case()
    world.consent(case_id)
    response = world.propose(case_id, who=world.sender.acting_for(maker))
    assert response.status_code == 201, response.text
    transfer_id = response.json()["id"]
    with runtime.sessions() as db:
        due = db.get_one(Transfer, transfer_id).accept_by
    report = run_at(transfer_deadlines.run, runtime, due + timedelta(hours=49))
    drain(runtime)
    assert report.escalated == [transfer_id]
    escalation = [("transfer.escalation", "acceptance", transfer_id)]
    assert _notified(runtime) == {
        maker: escalation,
        sender_admin: escalation,
        ngo_admin: escalation,
    }


def test_every_audience_names_a_side_and_a_role() -> None:
    assert set(AUDIENCE_ROLES) == set(Audience)
    assert {side for side, _ in AUDIENCE_ROLES.values()} == {"sender", "recipient"}
    # the person who made the request is the sender's, whatever their role
    assert [a for a, (_, role) in AUDIENCE_ROLES.items() if role is None] == [
        Audience.sender_case_worker
    ]


def test_the_acknowledgement_deadline_notifies_them_at_each_step(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rule for the acknowledgement: who is told at each step is the policy's data
    (here the recipient's case workers at the reminder too); its escalation fails the
    referral."""
    runtime = world.runtime
    policy = runtime.policy
    notify = Notify(
        reminder=(Audience.recipient_case_workers,),
        overdue=policy.follow_up.notify.overdue,
        escalation=policy.follow_up.notify.escalation,
    )
    changed = policy.model_copy(
        update={"follow_up": policy.follow_up.model_copy(update={"notify": notify})}
    )
    monkeypatch.setitem(runtime.__dict__, "policy", changed)
    who = _people(world)
    referral_id = _sent_by(world, who["maker"])
    answered = _sent_by(world, who["maker"])
    assert world.act(answered, "acknowledge", world.recipient).status_code == 200
    with runtime.sessions() as db:
        due = db.get_one(Referral, referral_id).acknowledge_by

    def pass_at(moment: datetime) -> acknowledgement.DeadlineReport:
        report = run_at(acknowledgement.run, runtime, moment)
        drain(runtime)
        return report

    # normal urgency: 72 h to acknowledge, reminded 24 h before, failed 24 h after
    assert pass_at(due - timedelta(hours=25)).reminded == []
    assert _notified(runtime) == {}
    assert pass_at(due - timedelta(hours=23)).reminded == [referral_id]
    reminder = ("referral.reminder", "acknowledge", referral_id)
    assert _notified(runtime) == {who["recipient_worker"]: [reminder]}

    assert pass_at(due + timedelta(minutes=1)).overdue == [referral_id]
    overdue = ("referral.overdue", "acknowledge", referral_id)
    assert _notified(runtime) == {who["recipient_worker"]: [reminder], who["maker"]: [overdue]}

    assert pass_at(due + timedelta(hours=25)).failed == [referral_id]
    failed = ("referral.escalation", "acknowledge", referral_id)
    assert _notified(runtime) == {
        who["recipient_worker"]: [reminder],
        who["maker"]: [overdue, failed],
        who["sender_admin"]: [failed],
        who["recipient_admin"]: [failed],
    }
    with runtime.sessions() as db:
        referral = db.get_one(Referral, referral_id)
        assert (referral.status, referral.status_reason) == ("failed", "not_acknowledged")
    # once: a later pass tells no one again; the acknowledged referral told no one at all
    pass_at(due + timedelta(hours=100))
    assert sum(len(rows) for rows in _notified(runtime).values()) == 5
    assert all(answered not in {row[2] for row in rows} for rows in _notified(runtime).values())


def test_a_referral_never_acknowledged_fails_and_tells_the_escalation_s_people(
    world: World,
) -> None:
    """With the policy as shipped: long past its deadline, the referral fails at once (no
    reminder or overdue first) and the people of `escalation` are told it failed."""
    runtime = world.runtime
    who = _people(world)
    referral_id = _sent_by(world, who["maker"])
    with runtime.sessions() as db:
        due = db.get_one(Referral, referral_id).acknowledge_by
    report = run_at(acknowledgement.run, runtime, due + timedelta(hours=30))
    drain(runtime)
    assert (report.failed, report.overdue, report.reminded) == ([referral_id], [], [])
    failed = [("referral.escalation", "acknowledge", referral_id)]
    assert _notified(runtime) == {
        who["maker"]: failed,
        who["sender_admin"]: failed,
        who["recipient_admin"]: failed,
    }
