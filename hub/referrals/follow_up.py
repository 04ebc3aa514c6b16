"""Follow-up past the acknowledgement: the move the recipient owes next, by when, and what the
hub does about it, as the policy's table says (`follow_up:` in specs/policy.yaml).

The table is data: each stage (`answer`: accept or decline; `start`; `follow_up`: complete by
the follow-up date) is owed from a status and set by the move that leads there (`SET_BY`).
`schedule` is called on every party's move: it sets the referral's `due_move` and `due_at`
from the policy (the follow-up date from the recipient when it gives one) and clears the
markers of the stage before. `run` is one pass per stage through `hub.db.deadlines`, the pass
the acknowledgement and the consent officers' deadlines share: remind the recipient before the
deadline, flag it overdue at it (the sender told), escalate past it (flagged; the sender and
the recipient organisation told). At each step the people the policy's `follow_up.notify`
names are notified too (`hub.notifications`, through `tell_people`, which the acknowledgement's
deadline uses as well). Nothing is closed: a late answer is still an
answer.
`overdue_condition` / `is_overdue` are the same rule for the board and the API's `overdue`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.orm import Session

from hub.auth.tokens import person_of
from hub.clock import utcnow
from hub.db import deadlines as deadline_pass
from hub.db.deadlines import Watched, Window
from hub.lifecycle import deadline_steps
from hub.lifecycle.deadline_steps import ESCALATION, OVERDUE, REMINDER, Flagged
from hub.notifications import service as notifications
from hub.policy.loader import Policy
from hub.policy.rules import Audience
from hub.referrals.lifecycle import ACCEPTED, ACKNOWLEDGED, IN_PROGRESS
from hub.referrals.models import Referral
from hub.services import Services

ANSWER, START, FOLLOW_UP = "answer", "start", "follow_up"
# stage → the status it is owed from (a referral that moved on no longer owes it)
OWED_FROM = {ANSWER: ACKNOWLEDGED, START: ACCEPTED, FOLLOW_UP: IN_PROGRESS}
# the party's move → the stage it opens
SET_BY = {"acknowledge": ANSWER, "accept": START, "start": FOLLOW_UP}

REMINDER_TOPIC = "referral.follow_up_reminder"  # to the recipient
OVERDUE_TOPIC = "referral.follow_up_overdue"  # to the sender
ESCALATED_TOPIC = "referral.escalated"  # to the sender and the recipient


@dataclass
class FollowUpReport:
    """The ids each step acted on, by stage."""

    reminded: dict[str, list[str]] = field(default_factory=dict)
    overdue: dict[str, list[str]] = field(default_factory=dict)
    escalated: dict[str, list[str]] = field(default_factory=dict)


def deadline(policy: Policy, referral: Referral, stage: str, start: datetime) -> datetime:
    """The stage's deadline counted from `start` (the move that opened it)."""
    table = policy.follow_up
    if stage == FOLLOW_UP:
        return start + timedelta(days=table.follow_up.days_for(referral.service_type))
    limits = getattr(table, stage)
    return start + limits.window(referral.urgency).deadline


def windows(policy: Policy, stage: str) -> list[tuple[str, Window]]:
    table = policy.follow_up
    if stage == FOLLOW_UP:
        return list(table.follow_up.windows())
    return list(getattr(table, stage).windows())


def schedule(
    referral: Referral,
    action: str,
    policy: Policy | None,
    *,
    now: datetime,
    follow_up_by: datetime | None = None,
) -> None:
    """After the party's move `action`: the stage it opens, or none (the referral closed, or
    the move opens nothing)."""
    stage = SET_BY.get(action)
    if stage is None and referral.due_move is None:
        return
    referral.due_reminded_at = referral.due_overdue_since = referral.due_escalated_at = None
    if stage is None or policy is None:
        referral.due_move = referral.due_at = None
        return
    referral.due_move = stage
    if stage == FOLLOW_UP and follow_up_by is not None:
        referral.due_at = follow_up_by
    else:
        referral.due_at = deadline(policy, referral, stage, now)


def owes(stage: str) -> ColumnElement[bool]:
    return and_(Referral.due_move == stage, Referral.status == OWED_FROM[stage])


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """Past the deadline of the move owed next, as a query condition."""
    late = [and_(owes(stage), Referral.due_at < now) for stage in OWED_FROM]
    return or_(false(), *late)


def is_overdue(referral: Referral, now: datetime) -> bool:
    stage = referral.due_move
    return (
        stage in OWED_FROM
        and referral.status == OWED_FROM[stage]
        and referral.due_at is not None
        and referral.due_at < now
    )


def _watched(stage: str) -> Watched[Referral]:
    def still_owed(referral: Referral) -> bool:
        return referral.due_move == stage and referral.status == OWED_FROM[stage]

    return Watched(
        model=Referral,
        deadline=Referral.due_at,
        urgency=Referral.urgency,
        waiting=owes(stage),
        still_waiting=still_owed,
    )


def parties(referral: Referral) -> notifications.Parties:
    """What a referral's notifications to people are about."""
    return notifications.Parties(
        sender_organization_id=referral.from_organization_id,
        recipient_organization_id=referral.to_organization_id,
        made_by=person_of(referral.created_by),
    )


def tell_people(
    db: Session,
    referral: Referral,
    *,
    audiences: tuple[Audience, ...],
    step: str,
    stage: str | None,
) -> None:
    """Queue the notifications of a deadline's `step` to the people `audiences` names (the
    policy's `follow_up.notify`, for every deadline of a referral, its acknowledgement's too)."""
    notifications.announce(
        db,
        audiences=audiences,
        object_type="referral",
        object_id=referral.id,
        step=step,
        stage=stage,
        parties=parties(referral),
    )


FLAGGED = Flagged(
    model=Referral,
    object_type="referral",
    markers={
        REMINDER: "due_reminded_at",
        OVERDUE: "due_overdue_since",
        ESCALATION: "due_escalated_at",
    },
    topics={REMINDER: REMINDER_TOPIC, OVERDUE: OVERDUE_TOPIC, ESCALATION: ESCALATED_TOPIC},
    actions={
        REMINDER: "referral.follow_up_reminded",
        OVERDUE: "referral.follow_up_overdue",
        ESCALATION: "referral.escalated",
    },
    payload=lambda referral: {"referral_id": referral.id, "stage": referral.due_move},
    parties=parties,
    stage=lambda referral: referral.due_move,
    details=lambda referral: {"stage": referral.due_move, "urgency": referral.urgency},
)


def run(runtime: Services, *, now: datetime | None = None) -> FollowUpReport:
    """One pass over each stage (escalation first, see `hub.db.deadlines`)."""
    now = now or utcnow()
    report = FollowUpReport()
    steps = deadline_steps.steps(FLAGGED, runtime.policy.follow_up.notify)
    for stage in OWED_FROM:
        passed = deadline_pass.run(
            sessions=runtime.sessions,
            watched=_watched(stage),
            windows=windows(runtime.policy, stage),
            escalate=steps.escalate,
            overdue=steps.overdue,
            remind=steps.remind,
            now=now,
        )
        report.escalated[stage] = passed.escalated
        report.overdue[stage] = passed.overdue
        report.reminded[stage] = passed.reminded
    return report
