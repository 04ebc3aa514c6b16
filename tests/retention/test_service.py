"""The retention rule at a moved clock: due at the period's end and not a second before,
counted from the last closing; a reopened case stays; a dry run changes nothing; a purge is
the erasure's (data key shredded, requests under review cancelled, holders told) plus
`case.purged`; the scheduler ticks it."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from hub.audit.models import AuditEntry
from hub.cases.models import Case, CaseData
from hub.cases.service import owner_for_case
from hub.clock import clock
from hub.crypto.models import DataKey
from hub.policy.retention import Period
from hub.retention import scheduled, service
from hub.retention.service import Report
from hub.runtime import Runtime
from hub.worker import celery_app, process
from tests.retention.support import audit_of, close, close_now
from tests.support.api import Partner
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World
from tests.support.webhook_receiver import WebhookReceiver

FIVE_YEARS = Period(months=60)
TWO_YEARS = Period(months=24)


def _run(runtime: Runtime, moment: datetime, *, dry_run: bool = False) -> Report:
    """The pass at `moment`, then back to the present (the partners' tokens live minutes)."""
    try:
        # the pass's `now` is exactly `moment` (the clock has moved on by a few microseconds)
        return run_at(lambda rt: service.run(rt, dry_run=dry_run, now=moment), runtime, moment)
    finally:
        clock.reset()


def _key_left(runtime: Runtime, case_id: str) -> bool:
    with runtime.sessions() as db:
        return db.get(DataKey, owner_for_case(case_id)) is not None


def test_a_closed_case_is_due_at_the_end_of_its_period_and_not_before(world: World) -> None:
    runtime = world.runtime
    moved = world.case()
    dead = world.case()
    kept = world.case()
    moved_at = close(world, moved, "person_moved")
    dead_at = close(world, dead, "death")

    # a second before the shorter period ends, nothing is due
    report = _run(runtime, TWO_YEARS.after(dead_at) - timedelta(seconds=1))
    assert (report.due, report.purged) == ([], [])
    # at its end, the case closed by a death is, and only it
    report = _run(runtime, TWO_YEARS.after(dead_at))
    assert [d.case_id for d in report.due] == report.purged == [dead]
    [item] = report.due
    assert (item.closure_reason, item.closed_at) == ("death", dead_at)
    assert not _key_left(runtime, dead) and _key_left(runtime, moved)

    assert _run(runtime, FIVE_YEARS.after(moved_at) - timedelta(seconds=1)).purged == []
    assert _run(runtime, FIVE_YEARS.after(moved_at)).purged == [moved]
    # the open case is never due, however long it waits; the erased ones are not due again
    assert _run(runtime, FIVE_YEARS.after(moved_at) + timedelta(days=3650)).due == []
    assert _key_left(runtime, kept)
    with runtime.sessions() as db:
        for case_id in (dead, moved):
            case = db.get_one(Case, case_id)
            assert case.erased_at is not None and case.subject_ciphertext == b""
            assert db.scalar(select(func.count()).where(CaseData.case_id == case_id)) == 0


def test_a_reopened_case_is_not_purged_and_closing_again_starts_the_count_again(
    world: World,
) -> None:
    runtime = world.runtime
    case_id = world.case()
    first = close(world, case_id, "unreachable")
    reopened = world.api.post(f"/v1/cases/{case_id}/reopen", json={}, headers=world.sender.headers)
    assert reopened.status_code == 200, reopened.text
    assert _run(runtime, FIVE_YEARS.after(first) + timedelta(days=1)).due == []

    # closed again a year on (at the moved clock): the period runs from then
    run_at(lambda rt: None, runtime, first + timedelta(days=365))
    second = close_now(runtime, case_id, "unreachable")
    assert second > first + timedelta(days=364)
    assert _run(runtime, FIVE_YEARS.after(first) + timedelta(days=1)).due == []
    assert _run(runtime, FIVE_YEARS.after(second)).purged == [case_id]


def test_a_dry_run_lists_ids_codes_and_times_and_changes_nothing(world: World) -> None:
    runtime = world.runtime
    case_id = world.case()
    closed_at = close(world, case_id, "goals_met")
    with runtime.sessions() as db:
        entries = db.scalar(select(func.count()).select_from(AuditEntry))
    report = _run(runtime, FIVE_YEARS.after(closed_at), dry_run=True)
    listed = report.as_dict()
    assert listed["dry_run"] is True and listed["purged"] == []
    assert listed["due"] == [
        {
            "case_id": case_id,
            "owner_organization_id": world.sender.organization_id,
            "closure_reason": "goals_met",
            "closed_at": closed_at.isoformat(),
            "due_at": FIVE_YEARS.after(closed_at).isoformat(),
        }
    ]
    assert CANARY_NAME not in json.dumps(listed)
    assert _key_left(runtime, case_id)
    with runtime.sessions() as db:
        assert db.get_one(Case, case_id).erased_at is None
        assert db.scalar(select(func.count()).select_from(AuditEntry)) == entries
    read = world.api.get(f"/v1/cases/{case_id}", headers=world.sender.headers)
    assert read.json()["data"]["identity"]["given_name"] == CANARY_NAME


def test_a_purge_is_the_erasure_and_tells_the_recipient_that_held_the_data(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    runtime = world.runtime
    channel = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "webhook", "url": receiver.url},
        headers=admin.headers,
    )
    assert channel.status_code == 200, channel.text
    case_id = world.case()
    world.consent(case_id, categories=["identity", "contact", "legal_status"])
    sent = world.refer(case_id, categories=["identity", "contact"])
    assert sent.status_code == 201, sent.text
    referral_id = sent.json()["id"]
    drain(runtime)  # delivered to the webhook: a disclosure to the recipient
    held = world.refer(case_id, categories=["identity", "legal_status"])
    assert held.status_code == 202, held.text  # under review: the erasure cancels it
    closed_at = close(
        world, case_id, "goals_met", **{referral_id: "keep", held.json()["id"]: "keep"}
    )

    def purge_and_tell(rt: Runtime) -> Report:
        found = service.run(rt)
        drain(rt)  # the notices are due at the (moved) time of the purge
        return found

    report = run_at(purge_and_tell, runtime, FIVE_YEARS.after(closed_at))
    clock.reset()
    assert report.purged == [case_id]
    [notice] = [r for r in receiver.snapshot() if json.loads(r.body)["event"] == "case.erased"]
    body = json.loads(notice.body)
    assert body["case"] == {"id": case_id, "erased_because": "retention"}
    assert body["referrals"] == [referral_id] and body["transfers"] == []
    for absent in (CANARY_NAME, CANARY_NOTE, "identity"):
        assert absent not in notice.body.decode()

    actions = {e.action: e.details for e in audit_of(runtime, case_id)}
    assert actions["case.erased"]["data_key_shredded"] is True
    assert actions["case.purged"] == {
        "reason": "retention",
        "closure_reason": "goals_met",
        "closed_at": closed_at.isoformat(),
        "retention": {"months": 60, "days": 0},
        "organizations_told": [world.recipient.organization_id],
        "referrals_cancelled": [held.json()["id"]],
        "transfers_cancelled": [],
    }
    assert actions["case.erasure_notices_queued"] == {
        "organization_ids": [world.recipient.organization_id],
        "why": "retention",
    }
    assert actions["case.erasure_notice_sent"]["pushed"] is True
    assert all(e.actor == "system:hub" for e in audit_of(runtime, case_id)[-4:])
    # the recipient's read of the referral now says the case is erased, and gives nothing
    gone = world.get(referral_id, world.recipient)
    assert gone.status_code == 200 and gone.json()["payload"] is None
    assert gone.json()["payload_withheld"][0]["codes"] == ["case_erased"]


def test_erasure_on_request_tells_the_holders_too(
    world: World, admin: Partner, receiver: WebhookReceiver
) -> None:
    runtime = world.runtime
    channel = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "webhook", "url": receiver.url},
        headers=admin.headers,
    )
    assert channel.status_code == 200, channel.text
    case_id = world.case()
    world.consent(case_id)
    referral_id = world.refer(case_id, categories=["contact"]).json()["id"]
    drain(runtime)
    unshared = world.case()
    for erased in (case_id, unshared):
        response = world.api.delete(f"/v1/cases/{erased}", headers=world.sender.headers)
        assert response.status_code == 204, response.text
    drain(runtime)
    notices = [json.loads(r.body) for r in receiver.snapshot()]
    told = [n for n in notices if n["event"] == "case.erased"]
    # once, for the case whose data the recipient held; nobody hears of the other
    assert [(n["case"], n["referrals"]) for n in told] == [
        ({"id": case_id, "erased_because": "request"}, [referral_id])
    ]


def test_the_scheduler_ticks_the_retention_pass(runtime: Runtime) -> None:
    app = runtime.celery
    by_task = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    entry = by_task[celery_app.RETENTION_TASK]
    assert entry["schedule"] == float(runtime.settings.retention_run_seconds) == 86400.0
    assert "hub.retention.scheduled" in app.conf.include
    assert app.conf.task_routes[celery_app.RETENTION_TASK] == {"queue": celery_app.SCHEDULE_QUEUE}


def test_the_scheduled_task_purges_what_is_due(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = world.runtime
    case_id = world.case()
    closed_at = close(world, case_id, "death")
    # the task the scheduler ticks, run the way a worker runs it (with the worker's runtime)
    monkeypatch.setattr(process, "_runtime", runtime)
    monkeypatch.setattr(process, "_pid", os.getpid())
    clock.advance(TWO_YEARS.after(closed_at) - closed_at - timedelta(minutes=1))
    assert scheduled.run_retention.apply().get() == 0
    clock.advance(timedelta(minutes=1))
    assert scheduled.run_retention.apply().get() == 1
    assert not _key_left(runtime, case_id)
    [purge] = [e for e in audit_of(runtime, case_id) if e.action == "case.purged"]
    assert purge.actor == "system:hub"
