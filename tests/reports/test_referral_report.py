"""GET /v1/reports/referrals against twelve referrals made through the API with known
attributes, counted by hand: counts, suppression of small cells (and of the cell that would
give one away), hours to each move, reasons; no personal data; the scope required."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.clock import utcnow
from hub.lifecycle.models import LifecycleEvent
from hub.referrals.models import Referral
from tests.support.api import Partner, client_for
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World

# (service type, urgency, sex, birth date) of referrals 1..12
MADE = [
    *[("psychosocial_support", "normal", "female", "1990-04-02")] * 6,  # 1-6
    ("psychosocial_support", "high", "female", "1990-04-02"),  # 7
    ("psychosocial_support", "high", "male", "1990-04-02"),  # 8
    ("psychosocial_support", "high", "male", "1990-04-02"),  # 9
    ("shelter", "high", "male", "1990-04-02"),  # 10
    ("shelter", "high", "male", "1960-01-10"),  # 11
    ("shelter", "emergency", "male", "1960-01-10"),  # 12
]
# hours from sending to acknowledgement of referrals 1..6
ACK_HOURS = [1, 2, 3, 4, 5, 10]


def _case(world: World, sex: str, birth_date: str) -> str:
    body = {
        "external_ref": f"REPORT-{uuid.uuid4().hex[:8]}",
        "subject": {"birth_date": birth_date, "sex": sex},
        "data": {"identity": {"given_name": CANARY_NAME}, "psychosocial": {"notes": "x"}},
    }
    response = world.api.post("/v1/cases", json=body, headers=world.sender.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _made(world: World) -> list[str]:
    ids = []
    for service_type, urgency, sex, birth in MADE:
        case_id = _case(world, sex, birth)
        world.consent(case_id)
        response = world.refer(
            case_id,
            service_type=service_type,
            urgency=urgency,
            categories=["identity", "psychosocial"],
        )
        assert response.status_code == 201, response.text
        ids.append(str(response.json()["id"]))
    recipient, sender = world.recipient, world.sender
    for i in range(6):
        assert world.act(ids[i], "acknowledge", recipient).status_code == 200
    for i in range(4):
        assert world.act(ids[i], "accept", recipient).status_code == 200
    for i in range(2):
        assert world.act(ids[i], "start", recipient).status_code == 200
    # one answer of each kind coded (the policy's outcomes, decline_reasons), one in words only
    done = world.act(ids[0], "complete", recipient, {"outcome_code": "service_provided"})
    assert done.status_code == 200, done.text
    done = world.act(ids[1], "complete", recipient, {"outcome": f"done {CANARY_NAME}"})
    assert done.status_code == 200, done.text
    refused = world.act(ids[4], "decline", recipient, {"reason_code": "no_capacity"})
    assert refused.status_code == 200, refused.text
    refused = world.act(ids[5], "decline", recipient, {"reason": f"full {CANARY_NAME}"})
    assert refused.status_code == 200, refused.text
    assert world.act(ids[11], "cancel", sender, {"reason": "moved"}).status_code == 200
    # the clock, moved by hand: each referral sent at a known time, acknowledged hours later
    base = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=12)
    with world.runtime.sessions.begin() as db:
        for i, referral_id in enumerate(ids):
            db.execute(update(Referral).where(Referral.id == referral_id).values(sent_at=base))
            if i < 6:
                # the event and the time the row keeps of it (what reports read)
                acknowledged = base + timedelta(hours=ACK_HOURS[i])
                db.execute(
                    update(Referral)
                    .where(Referral.id == referral_id)
                    .values(acknowledged_at=acknowledged)
                )
                db.execute(
                    update(LifecycleEvent)
                    .where(
                        LifecycleEvent.object_id == referral_id,
                        LifecycleEvent.to_status == "acknowledged",
                    )
                    .values(at=acknowledged)
                )
    return ids


def _report(world: World, who: Partner | None = None, **params: Any) -> dict[str, Any]:
    today = utcnow().date()
    query = {"from": today.replace(day=1).isoformat(), "to": today.isoformat(), **params}
    response = world.api.get(
        "/v1/reports/referrals", params=query, headers=(who or world.sender).headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _cells(report: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    dims = report["group_by"]
    return {tuple(row["values"][d] for d in dims): row["count"] for row in report["rows"]}


@pytest.fixture
def made(world: World) -> list[str]:
    return _made(world)


def test_counts_by_hand_with_small_cells_hidden(world: World, made: list[str]) -> None:
    report = _report(world, group_by="urgency")
    assert report["total"] == 12 and report["small_cell_threshold"] == 5
    # emergency 1 is small; high 5 would be 12 - 6 - emergency: hidden too; normal 6 shown
    assert _cells(report) == {("normal",): 6, ("high",): "*", ("emergency",): "<5"}

    assert _cells(_report(world, group_by="sex")) == {("female",): 7, ("male",): 5}
    assert _cells(_report(world, group_by="service_type")) == {
        ("psychosocial_support",): "*",
        ("shelter",): "<5",
    }
    assert _cells(_report(world, group_by="age_band")) == {("18-59",): "*", ("60+",): "<5"}
    # four small statuses: none can be worked out from the total, so `sent` 5 is shown
    assert _cells(_report(world, group_by="status")) == {
        ("accepted",): "<5",
        ("cancelled",): "<5",
        ("completed",): "<5",
        ("declined",): "<5",
        ("sent",): 5,
    }
    # two dimensions: psychosocial support's female 7 would give its male 2 away
    assert _cells(_report(world, group_by="service_type,sex")) == {
        ("psychosocial_support", "female"): "*",
        ("psychosocial_support", "male"): "<5",
        ("shelter", "male"): "<5",
    }
    month = utcnow().strftime("%Y-%m")
    by_month = _report(world, group_by="month,partner")
    assert _cells(by_month) == {(month, world.recipient.organization_id): 12}


def test_times_reasons_and_reviews(world: World, made: list[str]) -> None:
    report = _report(world)
    assert report["rows"] == [] and report["group_by"] == []
    # 1, 2, 3, 4, 5, 10 hours: median 3.5; 90th percentile (inclusive) 5 + 0.5 x 5 = 7.5
    assert report["times"]["acknowledge"] == {"n": 6, "median_hours": 3.5, "p90_hours": 7.5}
    # four acceptances, two completions: too few to say anything
    assert report["times"]["accept"] == {"n": "<5", "median_hours": None, "p90_hours": None}
    assert report["times"]["complete"]["n"] == "<5"
    assert report["reasons"] == [
        {"status": "cancelled", "reason": "cancelled_by_sender", "count": "<5"},
        {"status": "completed", "reason": None, "count": "<5"},
        {"status": "completed", "reason": "service_provided", "count": "<5"},
        {"status": "declined", "reason": "declined_by_recipient", "count": "<5"},
        {"status": "declined", "reason": "no_capacity", "count": "<5"},
    ]
    assert report["reviews"]["held"] == 0 and report["reviews"]["decision"]["n"] == 0


def test_no_personal_data_anywhere(world: World, made: list[str]) -> None:
    with world.runtime.sessions.begin() as db:
        case_ids = set(db.scalars(select(Referral.case_id).where(Referral.id.in_(made))))
    for group_by in ("month,service_type,sex,age_band", "status,urgency,partner,area", None):
        text = world.api.get(
            "/v1/reports/referrals",
            params={"group_by": group_by} if group_by else {},
            headers=world.sender.headers,
        ).text
        for secret in (CANARY_NAME, CANARY_NOTE, "1990-04-02", "1960-01-10", "REPORT-"):
            assert secret not in text
        assert not any(case_id in text for case_id in case_ids)
        assert not any(referral_id in text for referral_id in made)


def test_whose_referrals_and_the_scope_required(world: World, made: list[str]) -> None:
    # the recipient counts what it received; an organisation party to nothing, nothing
    assert _report(world, world.recipient)["total"] == 12
    assert _report(world, world.outsider)["total"] == 0
    reader = client_for(world.runtime, world.api, world.sender.organization_id, "referrals:read")
    refused = world.api.get("/v1/reports/referrals", headers=reader.headers)
    assert refused.status_code == 403
    bad = world.api.get(
        "/v1/reports/referrals", params={"group_by": "name"}, headers=world.sender.headers
    )
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_value"
    backwards = world.api.get(
        "/v1/reports/referrals",
        params={"from": "2026-11-30", "to": "2026-11-01"},
        headers=world.sender.headers,
    )
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_period"
