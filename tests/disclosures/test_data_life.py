"""Data life, the recipients' side: a consent's period, the erase-by date each disclosure
carries to its recipient (the API's read) and the accounting shows, the reminder before it and
the overdue flag after it (a moved clock), and the recipient's confirmation of the erasure."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.cases.models import Case
from hub.clock import clock, utcnow
from hub.disclosures import service as disclosures
from hub.disclosures import statement
from hub.disclosures.models import Disclosure
from hub.notifications.service import NOTIFY_TOPIC
from hub.outbox.models import OutboxMessage
from hub.referrals import data_life
from tests.support.api import Partner
from tests.support.consents import consent_body
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.referral_world import World

THREE_MONTHS = {"unit": "month", "value": 3}


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _sent(world: World, **consent: object) -> tuple[str, str]:
    """A referral sent to the recipient under a consent with these fields: (case, referral)."""
    case_id = world.case()
    world.consent(case_id, **consent)
    response = world.refer(case_id)
    assert response.status_code == 201, response.text
    return case_id, str(response.json()["id"])


def _read(world: World, referral_id: str) -> dict:
    response = world.get(referral_id, world.recipient)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _accounting(world: World, case_id: str) -> list[dict]:
    response = world.api.get(f"/v1/cases/{case_id}/disclosures", headers=world.sender.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _confirm(world: World, referral_id: str, who: Partner) -> httpx.Response:
    return world.api.post(
        f"/v1/referrals/{referral_id}/erasure-confirmation", json={}, headers=who.headers
    )


def _queued(world: World, topic: str) -> list[dict]:
    with world.runtime.sessions() as db:
        rows = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic))
        return [dict(m.payload) for m in rows]


def _actions(world: World, referral_id: str) -> list[str]:
    with world.runtime.sessions() as db:
        rows = db.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_id == referral_id)
            .order_by(AuditEntry.seq)
        )
        return list(rows)


def test_a_consent_keeps_its_data_life_and_the_policy_default_and_maximum(world: World) -> None:
    case_id = world.case()
    recorded = world.consent(case_id, data_life=THREE_MONTHS)
    assert recorded["data_life"] == THREE_MONTHS
    # a new version keeps its own period; the first keeps its
    newer = world.consent(
        case_id, supersedes=recorded["id"], data_life={"unit": "year", "value": 2}
    )
    assert (newer["version"], newer["data_life"]) == (2, {"unit": "year", "value": 2})
    listed = world.api.get(f"/v1/cases/{case_id}/consents", headers=world.sender.headers).json()
    assert {c["version"]: c["data_life"] for c in listed["items"]} == {
        1: THREE_MONTHS,
        2: {"unit": "year", "value": 2},
    }
    # none given: the purpose's default (gbv_response: 6 months), or none at all
    assert world.consent(case_id)["data_life"] is None
    gbv = world.consent(case_id, purposes=["gbv_response"])
    assert gbv["data_life"] == {"unit": "month", "value": 6}


def test_a_data_life_outside_the_contract_or_the_policy_is_a_422(world: World) -> None:
    case_id = world.case()
    path = f"/v1/cases/{case_id}/consents"
    too_long = consent_body(purposes=["gbv_response"], data_life={"unit": "month", "value": 13})
    refused = world.api.post(path, json=too_long, headers=world.sender.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "data_life_too_long"
    assert refused.json()["maximum"] == {"unit": "year", "value": 1}
    for wrong in (
        {"unit": "week", "value": 2},
        {"unit": "day", "value": 0},
        {"unit": "year", "value": 150},
        "2027-01-01",
    ):
        body = consent_body(data_life=wrong)
        answer = world.api.post(path, json=body, headers=world.sender.headers)
        assert answer.status_code == 422, (wrong, answer.text)
        assert answer.json()["code"] == "validation_error", wrong
    with world.runtime.sessions() as db:
        assert db.get_one(Case, case_id) is not None  # nothing else went wrong


def test_the_recipients_read_and_the_accounting_carry_erase_by(world: World) -> None:
    case_id, referral_id = _sent(world, data_life=THREE_MONTHS)
    before = utcnow()
    read = _read(world, referral_id)
    assert read["payload"]
    erase_by = _when(read["erase_by"])
    assert before + timedelta(days=88) < erase_by < utcnow() + timedelta(days=93)
    [entry] = _accounting(world, case_id)
    assert _when(entry["erase_by"]) == erase_by
    assert entry["erase_overdue"] is False and entry["erasure_confirmed_at"] is None
    # the sender's own read carries no date: it holds the case
    assert world.get(referral_id, world.sender).json()["erase_by"] is None


def test_the_earliest_period_of_the_consents_a_disclosure_rests_on(world: World) -> None:
    case_id = world.case()
    world.consent(case_id, data_life={"unit": "year", "value": 1})
    world.consent(case_id, data_life={"unit": "day", "value": 40})
    world.consent(case_id)  # no limit of its own
    referral = world.refer(case_id)
    assert referral.status_code == 201, referral.text
    assert len(referral.json()["consent_ids"]) == 3
    read = _read(world, str(referral.json()["id"]))
    erase_by = _when(read["erase_by"])
    assert abs(erase_by - (utcnow() + timedelta(days=40))) < timedelta(minutes=1)


def test_no_data_life_no_date(world: World) -> None:
    case_id, referral_id = _sent(world)
    assert _read(world, referral_id)["erase_by"] is None
    assert _accounting(world, case_id)[0]["erase_by"] is None


def test_the_recipient_confirms_the_erasure_once_and_the_accounting_shows_it(
    world: World,
) -> None:
    case_id, referral_id = _sent(world, data_life=THREE_MONTHS)
    # nothing received yet: nothing to confirm (as another organisation's referral)
    assert _confirm(world, referral_id, world.recipient).status_code == 404
    read = _read(world, referral_id)
    for stranger in (world.outsider, world.sender):
        refused = _confirm(world, referral_id, stranger)
        assert refused.status_code == 404, refused.text
        assert refused.json()["code"] == "not_found"
    assert _confirm(world, "no-such-referral", world.recipient).status_code == 404

    first = _confirm(world, referral_id, world.recipient)
    assert first.status_code == 200, first.text
    confirmed = first.json()
    assert confirmed["erase_by"] == read["erase_by"]
    assert confirmed["confirmed_by"].startswith("client:")
    again = _confirm(world, referral_id, world.recipient)
    assert again.status_code == 200 and again.json() == confirmed  # idempotent
    assert _actions(world, referral_id).count("disclosure.erasure_confirmed") == 1

    [entry] = _accounting(world, case_id)
    assert entry["erasure_confirmed_at"] == confirmed["confirmed_at"]
    assert entry["erasure_confirmed_by"] == confirmed["confirmed_by"]
    with world.runtime.sessions() as db:
        case = db.get_one(Case, case_id)
        made = statement.assemble(db=db, case=case)
    lines = [line for row in statement.in_words(made, "en").rows for cell in row for line in cell]
    assert any(line.startswith("Erased by the recipient on") for line in lines), lines
    french = statement.in_words(made, "fr").rows
    assert any("Effacées par le destinataire le" in line for cell in french[0] for line in cell)


def test_reminded_before_erase_by_then_overdue_for_the_sender_unless_confirmed(
    world: World,
) -> None:
    runtime = world.runtime
    case_id, referral_id = _sent(world, data_life=THREE_MONTHS)
    _, confirmed_id = _sent(world, data_life=THREE_MONTHS)
    erase_by = _when(_read(world, referral_id)["erase_by"])
    _read(world, confirmed_id)
    assert _confirm(world, confirmed_id, world.recipient).status_code == 200
    # the policy: reminded 14 days before
    try:
        quiet = run_at(data_life.run, runtime, erase_by - timedelta(days=15))
        assert (quiet.reminded, quiet.overdue) == ([], [])
        reminded = run_at(data_life.run, runtime, erase_by - timedelta(days=13))
        assert (reminded.reminded, reminded.overdue) == ([referral_id], [])
        once = run_at(data_life.run, runtime, erase_by - timedelta(days=12))
        assert once.reminded == []
        late = run_at(data_life.run, runtime, erase_by + timedelta(minutes=1))
        assert (late.reminded, late.overdue) == ([], [referral_id])  # not the confirmed one
        assert run_at(data_life.run, runtime, erase_by + timedelta(days=3)).overdue == []
        # flagged for the sender in the accounting, at the hub's clock
        with runtime.sessions() as db:
            case = db.get_one(Case, case_id)
            [entry], _ = disclosures.get_page(db=db, case=case, cursor=None, limit=10)
        assert entry.erase_overdue is True
        drain(runtime)  # the notices, due at the moved clock
    finally:
        clock.reset()

    [reminder] = _queued(world, data_life.REMINDER_TOPIC)
    [overdue] = _queued(world, data_life.OVERDUE_TOPIC)
    assert reminder == overdue == {"referral_id": referral_id, "erase_by": erase_by.isoformat()}
    told = [p for p in _queued(world, NOTIFY_TOPIC) if p.get("stage") == "data_life"]
    assert sorted((p["step"], p["audiences"]) for p in told) == [
        ("overdue", ["sender_case_worker", "sender_consent_officers"]),
        ("reminder", ["recipient_admins"]),
    ]
    actions = _actions(world, referral_id)
    for action in (
        "referral.erase_reminded",
        "referral.erase_overdue",
        "referral.erase_reminder_queued",
        "referral.erase_overdue_notice_queued",
    ):
        assert actions.count(action) == 1, (action, actions)
    assert "referral.erase_overdue" not in _actions(world, confirmed_id)
    # a late confirmation still counts, and clears the flag
    assert _confirm(world, referral_id, world.recipient).status_code == 200
    with runtime.sessions() as db:
        row = db.scalars(select(Disclosure).where(Disclosure.referral_id == referral_id)).one()
        assert row.erasure_confirmed_at is not None and row.erase_overdue_since is not None
