"""A sent referral's rows are written all or none: its plain INSERTs (`hub.db.inserts`) go
outside the unit of work, so a failure in the last of them must still roll back the ones
before it and the audit entry, with the answer an IntegrityError gets anywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.audit.models import AuditEntry
from hub.consent.models import GateDecision
from hub.delivery.models import Delivery
from hub.lifecycle import history
from hub.lifecycle.models import LifecycleEvent
from hub.outbox.models import OutboxMessage
from hub.referrals.models import Referral
from tests.support.referral_world import World

TABLES = (GateDecision, Referral, Delivery, OutboxMessage, LifecycleEvent, AuditEntry)


def _counts(world: World) -> dict[str, int]:
    with world.runtime.sessions() as db:
        return {
            model.__tablename__: db.scalar(select(func.count()).select_from(model)) or 0
            for model in TABLES
        }


def test_a_failing_last_insert_rolls_back_the_whole_referral(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = world.case()
    world.consent(case_id)
    assert world.refer(case_id).status_code == 201
    with world.runtime.sessions() as db:
        taken = db.scalars(select(LifecycleEvent.id)).first()
    before = _counts(world)
    # the referral's first lifecycle event, its last plain INSERT, takes an id already used
    monkeypatch.setattr(history, "new_id", lambda: taken)
    failed = world.refer(case_id)
    # what an IntegrityError answers, whichever statement raised it: a problem, nothing kept
    assert failed.status_code == 500, failed.text
    assert failed.headers["content-type"].startswith("application/problem+json")
    assert _counts(world) == before
    monkeypatch.undo()
    # nothing held is left behind on the pooled connection: the next referral goes through
    assert world.refer(case_id).status_code == 201
    after = _counts(world)
    assert after[Referral.__tablename__] == before[Referral.__tablename__] + 1
    assert after[LifecycleEvent.__tablename__] == before[LifecycleEvent.__tablename__] + 1
