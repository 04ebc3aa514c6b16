"""The consent officer's workspace, page by page, on requests made the real way."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.referrals.models import Referral
from hub.reviews.models import Review
from tests.support import outbox_drain
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import CANARY_NOTE, World
from tests.support.reviews import held_request

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def officer(world: World, api: TestClient) -> Person:
    who = person(world.runtime, world.sender.organization_id, "consent_officer")
    sign_in(api, who)
    return who


def held(world: World, **overrides: object) -> dict[str, str]:
    """A referral held because health data would leave (a sensitive category)."""
    case_id = world.case()
    consent = world.consent(case_id, categories=["identity", "health"])
    answer = world.refer(case_id, categories=["identity", "health"], **overrides)
    assert answer.status_code == 202, answer.text
    return {"consent_id": consent["id"], **answer.json()}


def test_the_queue_puts_emergencies_first_and_says_why(
    world: World, officer: Person, api: TestClient
) -> None:
    normal = held(world)
    emergency = held(world, urgency="emergency")
    elsewhere = held_request(world.runtime, world.outsider.organization_id)
    queue = api.get("/console/reviews")
    assert queue.status_code == 200
    assert 'Reviews <span class="count">(2)</span>' in queue.text
    assert queue.text.index(emergency["review_id"]) < queue.text.index(normal["review_id"])
    assert "Sensitive data would be shared" in queue.text
    assert elsewhere not in queue.text
    # a case is named by its reference, never by the person's name
    assert "Zanibetta" not in queue.text


def test_another_organisations_review_is_not_found(
    world: World, officer: Person, api: TestClient
) -> None:
    elsewhere = held_request(world.runtime, world.outsider.organization_id)
    for path in (f"/console/reviews/{elsewhere}", f"/console/reviews/{elsewhere}/decision"):
        answer = api.get(path) if path.endswith(elsewhere) else api.post(path)
        assert answer.status_code in (403, 404)
    page = api.get(f"/console/reviews/{elsewhere}")
    assert page.status_code == 404 and "Page not found" in page.text


def test_the_review_page_shows_what_the_decision_rests_on(
    world: World, officer: Person, api: TestClient
) -> None:
    request = held(world, urgency="high")
    page = api.get(f"/console/reviews/{request['review_id']}")
    assert page.status_code == 200
    text = page.text
    assert "Partner NGO" in text and "NGO" in text  # the recipient and its kind
    assert "Psychosocial support" in text  # the purpose
    assert "High" in text  # the urgency
    assert CANARY_NOTE in text  # the requester's note, to the officer of the sender
    assert "Adult" in text  # the age band
    assert "Consent, version 1" in text
    assert "Sensitive data would be shared" in text
    assert "Health" in text and "Identity" in text


def test_approving_asks_to_check_then_decides_in_the_officers_name(
    world: World, officer: Person, api: TestClient
) -> None:
    request = held(world)
    page = api.get(f"/console/reviews/{request['review_id']}")
    form = {
        "csrf_token": csrf_of(page.text),
        "outcome": "approved",
        "justification": "Health data needed by the psychologist.",
    }
    check = api.post(f"/console/reviews/{request['review_id']}/decision", data=form)
    assert check.status_code == 200 and "Check your decision" in check.text
    with world.runtime.sessions() as db:
        assert db.get_one(Review, request["review_id"]).status == "pending"
    done = api.post(
        f"/console/reviews/{request['review_id']}/decision", data={**form, "confirm": "1"}
    )
    assert done.status_code == 200 and "Request approved" in done.text
    outbox_drain.drain(world.runtime)
    with world.runtime.sessions() as db:
        review = db.get_one(Review, request["review_id"])
        assert review.status == "approved"
        assert review.decided_by == f"user:{officer.id}@{officer.organization_id}"
        assert db.get_one(Referral, request["id"]).status in ("sent", "delivered")
    # the queue is empty again
    assert 'Reviews <span class="count">(0)</span>' in api.get("/console").text


def test_a_decision_without_justification_is_shown_back_with_the_error(
    world: World, officer: Person, api: TestClient
) -> None:
    request = held(world)
    page = api.get(f"/console/reviews/{request['review_id']}")
    answer = api.post(
        f"/console/reviews/{request['review_id']}/decision",
        data={
            "csrf_token": csrf_of(page.text),
            "outcome": "denied",
            "justification": "  ",
            "confirm": "1",
        },
    )
    assert answer.status_code == 400
    assert 'class="error-summary"' in answer.text and 'href="#justification"' in answer.text
    with world.runtime.sessions() as db:
        assert db.get_one(Review, request["review_id"]).status == "pending"


def test_sending_back_reaches_the_requester_with_the_justification(
    world: World, officer: Person, api: TestClient
) -> None:
    request = held(world)
    page = api.get(f"/console/reviews/{request['review_id']}")
    api.post(
        f"/console/reviews/{request['review_id']}/decision",
        data={
            "csrf_token": csrf_of(page.text),
            "outcome": "returned",
            "justification": "Record the witness of the verbal consent.",
            "confirm": "1",
        },
    )
    outbox_drain.drain(world.runtime)
    seen = world.get(request["id"], world.sender).json()
    assert seen["status"] == "returned"
    assert seen["review"]["justification"] == "Record the witness of the verbal consent."
    # and in the console, on the home page of the requesting office's people
    worker = person(world.runtime, world.sender.organization_id, "case_worker")
    with TestClient(api.app) as other:
        sign_in(other, worker, enrol=False)
        home = other.get("/console").text
    assert "Requests that came back" in home
    assert "Record the witness of the verbal consent." in home


def test_the_person_who_made_the_request_cannot_decide_it(world: World, api: TestClient) -> None:
    maker = person(world.runtime, world.sender.organization_id, "consent_officer")
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    made = world.refer(
        case_id,
        categories=["identity", "health"],
        headers={**world.sender.headers, "On-Behalf-Of": maker.id},
    )
    assert made.status_code == 202, made.text
    sign_in(api, maker)
    review_id = made.json()["review_id"]
    page = api.get(f"/console/reviews/{review_id}")
    assert "You made this request, so you cannot decide it." in page.text
    assert 'name="outcome"' not in page.text
    refused = api.post(
        f"/console/reviews/{review_id}/decision",
        data={
            "csrf_token": csrf_of(page.text),
            "outcome": "approved",
            "justification": "I trust myself.",
            "confirm": "1",
        },
    )
    assert refused.status_code == 403
    with world.runtime.sessions() as db:
        assert db.get_one(Review, review_id).status == "pending"


def test_each_view_of_the_scanned_form_is_audited(
    world: World, officer: Person, api: TestClient
) -> None:
    request = held(world)
    stored = api.put(
        f"/v1/consents/{request['consent_id']}/evidence",
        content=PNG,
        headers={**world.sender.headers, "Content-Type": "image/png"},
    )
    assert stored.status_code in (200, 201), stored.text
    review_page = api.get(f"/console/reviews/{request['review_id']}")
    link = f"/console/reviews/{request['review_id']}/consents/{request['consent_id']}/evidence"
    assert link in review_page.text
    frame = api.get(link)
    assert frame.status_code == 200 and f'src="{link}/file"' in frame.text
    for _ in range(2):
        image = api.get(f"{link}/file")
        assert image.status_code == 200 and image.content == PNG
        assert image.headers["x-frame-options"] == "SAMEORIGIN"
    with world.runtime.sessions() as db:
        reads = list(
            db.scalars(select(AuditEntry).where(AuditEntry.action == "consent.evidence_read"))
        )
    assert len(reads) == 2
    assert {r.actor for r in reads} == {f"user:{officer.id}@{officer.organization_id}"}
