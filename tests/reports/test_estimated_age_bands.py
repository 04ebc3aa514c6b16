"""The reports' age bands of referrals made for subjects of estimated age: the band is the
youngest age the estimate allows, set when the referral is made (`subject_age_band`), and the
report counts it there. The API gives the estimate back as it was given."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hub.clock import utcnow
from hub.referrals.models import Referral
from tests.support.referral_world import CANARY_NAME, World


def _refer(world: World, subject: dict[str, Any]) -> str:
    body = {
        "external_ref": f"AGE-{uuid.uuid4().hex[:8]}",
        "subject": {**subject, "sex": "male"},
        "data": {"identity": {"given_name": CANARY_NAME}, "psychosocial": {"notes": "x"}},
    }
    created = world.api.post("/v1/cases", json=body, headers=world.sender.headers)
    assert created.status_code == 201, created.text
    case_id = str(created.json()["id"])
    read = world.api.get(f"/v1/cases/{case_id}", headers=world.sender.headers).json()
    expected = dict(body["subject"])
    if "estimated_age" in subject and "age_stated_on" not in subject:
        expected["age_stated_on"] = utcnow().date().isoformat()
    assert read["subject"] == expected  # as given (and the day an age was stated)
    # the person's own, and a caregiver's with the child's assent: whatever the age, the gate
    # lets the referral through or holds it for a consent officer
    world.consent(case_id)
    world.consent(
        case_id,
        given_by="caregiver",
        caregiver={"name": "Tutor", "relationship": "uncle"},
        child_assent=True,
    )
    sent = world.refer(case_id, categories=["identity", "psychosocial"])
    assert sent.status_code in (201, 202), sent.text
    return str(sent.json()["id"])


def test_bands_take_the_youngest_age(world: World) -> None:
    today = utcnow().date()
    eighteen = (
        today.replace(year=today.year - 18)
        if (today.month, today.day) != (2, 29)
        else today.replace(year=today.year - 18, day=28)
    )
    # a month 18 years ago whose last day is still ahead: possibly 17 today
    later = eighteen + timedelta(days=20)
    made = {
        "month": _refer(
            world,
            {"birth_date": later.strftime("%Y-%m"), "birth_date_precision": "month"},
        ),
        "exact adult": _refer(world, {"birth_date": (eighteen - timedelta(days=1)).isoformat()}),
        "said 17": _refer(world, {"estimated_age": 17}),
        "said 18": _refer(world, {"estimated_age": 18, "age_stated_on": today.isoformat()}),
        "year of a 4-year-old": _refer(
            world, {"birth_date": str(today.year - 4), "birth_date_precision": "year"}
        ),
    }
    with world.runtime.sessions.begin() as db:
        bands = {
            name: db.scalar(select(Referral.subject_age_band).where(Referral.id == referral_id))
            for name, referral_id in made.items()
        }
    assert bands == {
        "month": "12-17",
        "exact adult": "18-59",
        "said 17": "12-17",
        "said 18": "18-59",
        "year of a 4-year-old": "0-4" if (today.month, today.day) != (12, 31) else "5-11",
    }
    query = {
        "from": today.replace(day=1).isoformat(),
        "to": today.isoformat(),
        "group_by": "age_band",
    }
    report = world.api.get("/v1/reports/referrals", params=query, headers=world.sender.headers)
    assert report.status_code == 200, report.text
    counted = {row["values"]["age_band"] for row in report.json()["rows"]}
    assert {"12-17", "18-59"} <= counted


def test_what_is_not_one_estimate_is_refused(world: World) -> None:
    today = utcnow().date()
    refused = {
        "birth_date_precision_mismatch": {"birth_date": "2010"},
        "birth_date_precision_mismatch ": {
            "birth_date": "2010-05-14",
            "birth_date_precision": "year",
        },
        "birth_date_and_estimated_age": {
            "birth_date": "2010",
            "birth_date_precision": "year",
            "estimated_age": 15,
        },
        "birth_date_missing": {},
        "precision_without_birth_date": {"estimated_age": 15, "birth_date_precision": "year"},
        "age_stated_on_without_estimated_age": {
            "birth_date": "2010-05-14",
            "age_stated_on": today.isoformat(),
        },
        "estimated_age_out_of_range": {"estimated_age": 131},
        "estimated_age_out_of_range ": {"estimated_age": -1},
        "age_stated_on_in_future": {
            "estimated_age": 15,
            "age_stated_on": (today + timedelta(days=1)).isoformat(),
        },
        "birth_date_in_future": {"birth_date": str(today.year + 1), "birth_date_precision": "year"},
        "birth_date_invalid": {"birth_date": "2010-13", "birth_date_precision": "month"},
        "birth_date_invalid ": {"birth_date": "2010-02-30"},
    }
    for code, subject in refused.items():
        body = {
            "external_ref": f"BAD-{uuid.uuid4().hex[:8]}",
            "subject": {**subject, "sex": "male"},
        }
        answer = world.api.post("/v1/cases", json=body, headers=world.sender.headers)
        assert (answer.status_code, answer.json()["code"]) == (422, code.strip()), (
            subject,
            answer.text,
        )
    page = world.api.get("/v1/cases", headers=world.sender.headers).json()
    assert not [item for item in page["items"] if item["external_ref"].startswith("BAD-")]
