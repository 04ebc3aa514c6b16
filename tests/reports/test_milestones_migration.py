"""Migration 0025 on a database that already has referrals: the times of their first
acknowledgement, acceptance and completion filled in from their events; and back down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, select

from hub.db import migrate
from hub.lifecycle.models import LifecycleEvent
from hub.referrals.models import MILESTONES, Referral
from tests.support.referral_world import World


def _to(engine: Engine, revision: str) -> None:
    cfg = migrate.alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if revision == "head":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)


def test_filled_in_from_the_events_and_back(world: World) -> None:
    done, accepted, waiting = world.sent(), world.sent(), world.sent()
    recipient = world.recipient
    for action in ("acknowledge", "accept", "start"):
        assert world.act(done, action, recipient).status_code == 200
    body = {"outcome_code": "service_provided"}
    assert world.act(done, "complete", recipient, body).status_code == 200
    for action in ("acknowledge", "accept"):
        assert world.act(accepted, action, recipient).status_code == 200
    engine = world.runtime.engine

    def kept() -> dict[str, tuple[object, ...]]:
        with world.runtime.sessions() as db:
            columns = [getattr(Referral, c) for c in MILESTONES.values()]
            return {r[0]: tuple(r[1:]) for r in db.execute(select(Referral.id, *columns))}

    before = kept()
    assert all(before[done])
    assert before[accepted][:2] != (None, None) and before[accepted][2] is None
    assert before[waiting] == (None, None, None)

    _to(engine, "0024")
    names = {c["name"] for c in inspect(engine).get_columns("referrals")}
    assert not names & set(MILESTONES.values())
    indexes = {i["name"] for i in inspect(engine).get_indexes("referrals")}
    assert "ix_referrals_created_at" in indexes and "ix_referrals_report" not in indexes

    _to(engine, "head")
    assert migrate.is_current(engine)
    indexes = {i["name"] for i in inspect(engine).get_indexes("referrals")}
    assert "ix_referrals_report" in indexes and "ix_referrals_created_at" not in indexes
    # the same times as the moves kept: each the first event of its status
    assert kept() == before
    with world.runtime.sessions() as db:
        firsts = {
            (e.object_id, e.to_status): e.at
            for e in db.execute(select(LifecycleEvent).order_by(LifecycleEvent.at.desc()))
            .scalars()
            .all()
        }
    assert before[done] == tuple(firsts[(done, s)] for s in MILESTONES)
