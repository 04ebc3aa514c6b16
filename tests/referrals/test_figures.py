"""The sending office's figures (`hub.referrals.figures`): counts by status and by recipient,
each recipient's median time to acknowledge over the last 8 weeks, and the tracking list; only
the caller's organisation's referrals, the same through the API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from hub.clock import clock, utcnow
from hub.referrals import figures, service
from hub.referrals.models import Referral
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World


def _acknowledge(world: World, referral_id: str) -> None:
    """The recipient acknowledges, at the clock's time (through the service: the test's
    clock moves hours, past its clients' tokens)."""
    with world.runtime.sessions.begin() as db:
        referral = service.get(
            db=db, referral_id=referral_id, organization_id=world.recipient.organization_id
        )
        service.party_move(
            db=db,
            keyring=world.runtime.keyring,
            referral=referral,
            action="acknowledge",
            actor=world.recipient.actor,
            organization_id=world.recipient.organization_id,
            text=None,
        )


def _figures(world: World, organization_id: str) -> figures.ReferralFigures:
    with world.runtime.sessions() as db:
        return figures.figures(db=db, organization_id=organization_id)


def test_the_median_time_to_acknowledge_counts_the_last_eight_weeks(world: World) -> None:
    old, first, second, third, _waiting = (world.sent() for _ in range(5))
    # sent nine weeks ago: outside the window (with it, the median would be 8 hours)
    with world.runtime.sessions.begin() as db:
        db.execute(
            update(Referral).where(Referral.id == old).values(sent_at=utcnow() - timedelta(weeks=9))
        )
    _acknowledge(world, old)
    clock.advance(timedelta(hours=2))
    _acknowledge(world, first)
    clock.advance(timedelta(hours=4))
    _acknowledge(world, second)
    clock.advance(timedelta(hours=4))
    _acknowledge(world, third)

    found = _figures(world, world.sender.organization_id)

    [partner] = found.acknowledgement
    assert partner.organization_id == world.recipient.organization_id
    assert partner.name == "Partner NGO"
    # first 2 h, second 6 h, third 10 h; `waiting` is counted as sent, not acknowledged
    assert (partner.sent, partner.acknowledged) == (4, 3)
    assert partner.median_hours == 6.0
    assert found.weeks == 8 and found.since == found.at - timedelta(weeks=8)
    assert [(s.status, s.count) for s in found.by_status] == [("sent", 1), ("acknowledged", 4)]
    assert [(p.name, p.count) for p in found.by_partner] == [("Partner NGO", 5)]
    assert found.total == 5


def test_a_partner_that_acknowledged_nothing_has_no_median_and_comes_first(world: World) -> None:
    world.sent()
    [partner] = _figures(world, world.sender.organization_id).acknowledgement
    assert (partner.sent, partner.acknowledged, partner.median_hours) == (1, 0, None)


def test_only_the_organisations_own_referrals_are_counted(world: World) -> None:
    world.sent()
    world.sent()
    # the recipient received them: none is its own, so it counts nothing
    for organization_id in (world.recipient.organization_id, world.outsider.organization_id):
        empty = _figures(world, organization_id)
        assert empty.total == 0
        assert empty.by_status == [] and empty.by_partner == [] and empty.acknowledgement == []
        with world.runtime.sessions() as db:
            assert figures.tracking(db=db, organization_id=organization_id) == []
    assert _figures(world, world.sender.organization_id).total == 2


def test_the_api_answers_the_services_figures_without_personal_data(world: World) -> None:
    world.sent()
    answer = world.api.get("/v1/referrals/figures", headers=world.sender.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = _figures(world, world.sender.organization_id)
    assert body["by_status"] == [s.model_dump() for s in expected.by_status]
    assert body["by_partner"] == [p.model_dump() for p in expected.by_partner]
    assert body["acknowledgement"] == [a.model_dump() for a in expected.acknowledgement]
    assert CANARY_NAME not in answer.text and CANARY_NOTE not in answer.text
    other = world.api.get("/v1/referrals/figures", headers=world.outsider.headers)
    assert other.status_code == 200 and other.json()["total"] == 0
    schema = world.api.get("/openapi.json").json()
    assert "get" in schema["paths"]["/v1/referrals/figures"]


def test_the_tracking_list_puts_the_overdue_first_then_the_urgent_then_the_oldest(
    world: World,
) -> None:
    oldest = world.sent()
    newer = world.sent()
    emergency = world.sent(urgency="emergency")
    late = world.sent()
    closed = world.sent()
    assert world.act(closed, "decline", world.recipient, {"reason": "full"}).status_code == 200
    with world.runtime.sessions.begin() as db:
        db.execute(
            update(Referral)
            .where(Referral.id == late)
            .values(acknowledge_by=utcnow() - timedelta(hours=1))
        )
    with world.runtime.sessions() as db:
        rows = figures.tracking(db=db, organization_id=world.sender.organization_id)
        done = figures.tracking(db=db, organization_id=world.sender.organization_id, closed=True)
    assert [r.id for r in rows] == [late, emergency, oldest, newer]
    assert rows[0].overdue and not rows[1].overdue
    assert [r.id for r in done] == [closed]
    # its last move is the decline, not its sending
    assert done[0].last_moved_at > done[0].sent_at  # type: ignore[operator]
