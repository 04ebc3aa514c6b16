"""The partner's side of the console, page by page, on referrals and transfers made through the
API: the received inbox, a referral read through the consent gate (and accounted for), the
recipient's moves, and the transfer offers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hub.audit.models import AuditEntry
from hub.cases.models import Case
from hub.clock import utcnow
from hub.disclosures.models import Disclosure
from hub.lifecycle.models import LifecycleEvent
from hub.referrals.models import Referral
from hub.runtime import Runtime
from hub.transfers.models import Transfer
from tests.support import transfer_world
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World

# a value of a category the consent does not cover: withheld, it must show nowhere
CANARY_WITHHELD = "Canary withheld: irregular stay since 2019, deportation order 77-B"


@pytest.fixture
def worker(world: World, api: TestClient) -> Person:
    """A case worker of the partner NGO, the referrals' recipient, signed in."""
    who = person(world.runtime, world.recipient.organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    return who


def sent(world: World, **overrides: object) -> str:
    """A referral sent to the partner; its legal status (not consented) holds the canary."""
    case_id = world.case(
        data={
            "identity": {"given_name": CANARY_NAME, "family_name": "Moussa"},
            "contact": {"phone": "+227 90 00 00 00"},
            "psychosocial": {"notes": "sleep problems"},
            "legal_status": {"status": CANARY_WITHHELD},
        }
    )
    world.consent(case_id)
    answer = world.refer(case_id, **overrides)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def disclosures(runtime: Runtime, referral_id: str) -> list[Disclosure]:
    with runtime.sessions() as db:
        query = select(Disclosure).where(Disclosure.referral_id == referral_id)
        return list(db.scalars(query.order_by(Disclosure.at)))


def actor_of(runtime: Runtime, disclosure: Disclosure) -> str:
    """Who the disclosure was made to, as its audit entry names them."""
    with runtime.sessions() as db:
        entry = db.scalar(select(AuditEntry).where(AuditEntry.seq == disclosure.audit_seq))
        assert entry is not None and entry.action == "disclosure"
        return entry.actor


def status_of(runtime: Runtime, referral_id: str) -> str:
    with runtime.sessions() as db:
        return db.get_one(Referral, referral_id).status


def move(api: TestClient, referral_id: str, action: str, **fields: str) -> object:
    page = api.get("/console/received")
    form = {"csrf_token": csrf_of(page.text), **fields}
    return api.post(f"/console/received/{referral_id}/{action}", data=form, follow_redirects=False)


# --- the inbox


def test_the_inbox_puts_the_overdue_first_then_the_urgent_then_the_oldest(
    world: World, worker: Person, api: TestClient
) -> None:
    oldest_normal = sent(world)
    newer_normal = sent(world)
    emergency = sent(world, urgency="emergency")
    late = sent(world)
    with world.runtime.sessions.begin() as db:
        db.execute(
            update(Referral)
            .where(Referral.id == late)
            .values(acknowledge_by=utcnow() - timedelta(hours=1))
        )
    page = api.get("/console/received")
    assert page.status_code == 200
    order = [late, emergency, oldest_normal, newer_normal]
    found = re.findall(r'href="/console/received/([0-9a-f]+)"', page.text)
    assert found == order
    assert "Overdue" in page.text and "Emergency" in page.text
    assert 'Received <span class="count">(4)</span>' in page.text
    # a referral goes by its number: no name, no note, no data in the list
    assert CANARY_NAME not in page.text and CANARY_NOTE not in page.text
    assert page.headers["cache-control"] == "no-store"
    # the API's inbox: the same service, the same order
    listed = world.api.get("/v1/referrals/inbox", headers=world.recipient.headers)
    assert [item["id"] for item in listed.json()["items"]] == order
    closed = world.api.get(
        "/v1/referrals/inbox", params={"status": "completed"}, headers=world.recipient.headers
    )
    assert closed.status_code == 422 and closed.json()["code"] == "unknown_value"
    assert disclosures(world.runtime, late) == []  # listing releases nothing


def test_the_closed_referrals_are_listed_apart(
    world: World, worker: Person, api: TestClient
) -> None:
    referral_id = sent(world)
    assert world.act(referral_id, "decline", world.recipient, {"reason": "full"}).status_code == 200
    assert referral_id not in api.get("/console/received").text
    closed = api.get("/console/received?show=closed")
    assert referral_id in closed.text and "Declined" in closed.text


# --- a referral, through the consent gate


def test_opening_a_referral_asks_the_gate_and_records_the_disclosure_as_the_api_does(
    world: World, worker: Person, api: TestClient
) -> None:
    referral_id = sent(world)
    assert disclosures(world.runtime, referral_id) == []
    page = api.get(f"/console/received/{referral_id}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    # released, by data category
    for words in ("Identity", "Contact details", "Psychosocial", CANARY_NAME, "sleep problems"):
        assert words in text
    assert CANARY_NOTE in text  # the sender's note comes with the payload
    # the category the consent does not cover: neither its value nor even its name
    assert CANARY_WITHHELD not in text and "Legal status" not in text
    # the name shows on the record only, never in the title
    title = re.search(r"<title>(.*?)</title>", text, re.S)
    assert title and CANARY_NAME not in title.group(1) and referral_id[:8] in title.group(1)
    [recorded] = disclosures(world.runtime, referral_id)
    assert recorded.channel == "inbox"
    assert recorded.categories == ["contact", "identity", "psychosocial"]
    assert actor_of(world.runtime, recorded) == f"user:{worker.id}@{worker.organization_id}"
    # the API's read of the same referral is accounted for the same way
    read = world.get(referral_id, world.recipient).json()
    first, second = disclosures(world.runtime, referral_id)
    assert (first.categories, first.consent_ids) == (second.categories, second.consent_ids)
    assert sorted(read["payload"]) == first.categories
    assert second.payload_sha256 == first.payload_sha256
    # each view asks again and is recorded again
    api.get(f"/console/received/{referral_id}")
    assert len(disclosures(world.runtime, referral_id)) == 3


def test_what_the_gate_no_longer_releases_is_named_never_shown(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]
    world.consent(case_id, categories=["identity", "psychosocial"], supersedes=consent["id"])
    page = api.get(f"/console/received/{referral_id}").text
    assert "Not released" in page and "Contact details" in page
    assert "+227 90 00 00 00" not in page
    [recorded] = disclosures(world.runtime, referral_id)
    assert recorded.categories == ["identity", "psychosocial"]


def test_a_withdrawn_consent_shows_nothing_and_cancels(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]
    world.withdraw(consent["id"])
    page = api.get(f"/console/received/{referral_id}")
    assert page.status_code == 200
    assert "The person withdrew their consent" in page.text
    assert CANARY_NAME not in page.text and CANARY_NOTE not in page.text
    assert disclosures(world.runtime, referral_id) == []
    assert status_of(world.runtime, referral_id) == "cancelled"
    assert "Acknowledge receipt" not in page.text


# --- the recipient's moves


def test_acknowledge_accept_start_complete_each_confirmed(
    world: World, worker: Person, api: TestClient
) -> None:
    referral_id = sent(world)
    page = api.get(f"/console/received/{referral_id}").text
    assert "Acknowledge receipt" in page and "Decline the referral" in page
    assert "Accept the referral" not in page  # not before acknowledging
    for action, status, title in (
        ("acknowledge", "acknowledged", "Receipt acknowledged"),
        ("accept", "accepted", "Referral accepted"),
        ("start", "in_progress", "Service started"),
    ):
        answer = move(api, referral_id, action)
        assert answer.status_code == 303, answer.text
        done = api.get(answer.headers["location"])
        assert done.status_code == 200 and title in done.text
        assert status_of(world.runtime, referral_id) == status
    # complete needs its outcome: the form comes back with the error
    form = api.get(f"/console/received/{referral_id}/complete")
    assert form.status_code == 200 and 'name="outcome"' in form.text
    empty = move(api, referral_id, "complete", outcome="  ")
    assert empty.status_code == 400
    assert 'class="error-summary"' in empty.text and 'href="#outcome"' in empty.text
    assert status_of(world.runtime, referral_id) == "in_progress"
    answer = move(api, referral_id, "complete", outcome="Eight sessions held; goals met.")
    assert answer.status_code == 303
    assert "Referral completed" in api.get(answer.headers["location"]).text
    assert status_of(world.runtime, referral_id) == "completed"
    with world.runtime.sessions() as db:
        actors = set(
            db.scalars(
                select(LifecycleEvent.actor).where(
                    LifecycleEvent.object_id == referral_id,
                    LifecycleEvent.organization_id == worker.organization_id,
                )
            )
        )
    assert actors == {f"user:{worker.id}@{worker.organization_id}"}
    # the sender reads the outcome through the API
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert "Eight sessions held; goals met." in events.text


def test_declining_needs_a_reason_which_reaches_the_sender(
    world: World, worker: Person, api: TestClient
) -> None:
    referral_id = sent(world)
    empty = move(api, referral_id, "decline", reason="")
    assert empty.status_code == 400 and "Write the reason" in empty.text
    assert status_of(world.runtime, referral_id) in ("sent", "delivered")
    answer = move(api, referral_id, "decline", reason="No capacity until next month.")
    assert answer.status_code == 303
    assert "Referral declined" in api.get(answer.headers["location"]).text
    assert status_of(world.runtime, referral_id) == "declined"
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert "No capacity until next month." in events.text


def test_a_move_the_status_does_not_allow_is_said_plainly(
    world: World, worker: Person, api: TestClient
) -> None:
    referral_id = sent(world)
    early = move(api, referral_id, "accept")
    assert early.status_code == 409
    assert "This cannot be done now" in early.text
    assert "“Accept the referral” cannot be done" in early.text
    assert status_of(world.runtime, referral_id) in ("sent", "delivered")
    assert move(api, referral_id, "acknowledge").status_code == 303
    again = move(api, referral_id, "acknowledge")
    assert again.status_code == 409 and "Acknowledged" in again.text
    # a forged confirmation confirms nothing
    forged = api.get(f"/console/received/{referral_id}/done?move=complete")
    assert "Referral completed" not in forged.text
    # the sender's move, or none at all, is no page here
    assert move(api, referral_id, "cancel", reason="x").status_code == 404
    assert api.get(f"/console/received/{referral_id}/start").status_code == 404
    assert status_of(world.runtime, referral_id) == "acknowledged"


def test_a_move_without_the_csrf_token_is_refused(
    world: World, worker: Person, api: TestClient
) -> None:
    referral_id = sent(world)
    answer = api.post(f"/console/received/{referral_id}/acknowledge", data={})
    assert answer.status_code == 403
    assert status_of(world.runtime, referral_id) in ("sent", "delivered")


def test_another_organisations_referral_is_not_found(world: World, api: TestClient) -> None:
    referral_id = sent(world)
    outsider = person(world.runtime, world.outsider.organization_id, "case_worker")
    sign_in(api, outsider, enrol=False)
    for path in (f"/console/received/{referral_id}", f"/console/received/{referral_id}/decline"):
        answer = api.get(path)
        assert answer.status_code == 404 and "Page not found" in answer.text
    assert move(api, referral_id, "acknowledge").status_code == 404
    assert disclosures(world.runtime, referral_id) == []
    # its sender has it on its own side, not in a received inbox
    sender = person(world.runtime, world.sender.organization_id, "case_worker")
    with TestClient(api.app) as other:
        sign_in(other, sender, enrol=False)
        assert other.get(f"/console/received/{referral_id}").status_code == 404


def test_a_consent_officer_has_no_inbox(world: World, api: TestClient) -> None:
    officer = person(world.runtime, world.recipient.organization_id, "consent_officer")
    sign_in(api, officer)
    assert api.get("/console/received").status_code == 403
    assert 'href="/console/received"' not in api.get("/console").text


# --- transfer offers


@pytest.fixture
def transfers(runtime: Runtime, api: TestClient) -> transfer_world.World:
    return transfer_world.make_world(runtime, api)


def ngo_worker(transfers: transfer_world.World, api: TestClient) -> Person:
    who = person(transfers.runtime, transfers.ngo.organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    return who


def offer_disclosures(runtime: Runtime, transfer_id: str) -> list[Disclosure]:
    with runtime.sessions() as db:
        return list(db.scalars(select(Disclosure).where(Disclosure.transfer_id == transfer_id)))


def test_an_offer_shows_the_plan_and_the_summary_only_until_accepted(
    transfers: transfer_world.World, api: TestClient
) -> None:
    transfer_id, case_id = transfers.sent()
    worker = ngo_worker(transfers, api)
    listing = api.get("/console/offers")
    assert listing.status_code == 200 and transfer_id in listing.text
    assert 'Transfer offers <span class="count">(1)</span>' in listing.text
    assert transfer_world.CANARY_PLAN not in listing.text
    offer = api.get(f"/console/offers/{transfer_id}")
    assert offer.status_code == 200
    assert transfer_world.CANARY_PLAN in offer.text and transfer_world.CANARY_CONTACT in offer.text
    assert "18-59 years" in offer.text and "Female" in offer.text
    # the minimal summary only: no name, no data, not even the categories' names
    assert transfer_world.CANARY_NAME not in offer.text
    assert "Psychosocial" not in offer.text and "Identity" not in offer.text
    [read] = offer_disclosures(transfers.runtime, transfer_id)
    assert (read.channel, read.categories) == ("inbox", [])
    assert actor_of(transfers.runtime, read) == f"user:{worker.id}@{worker.organization_id}"

    answer = api.post(
        f"/console/offers/{transfer_id}/accept",
        data={"csrf_token": csrf_of(offer.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    done = api.get(answer.headers["location"])
    assert "Transfer accepted" in done.text and "Identity" in done.text
    with transfers.runtime.sessions() as db:
        assert db.get_one(Transfer, transfer_id).status == "completed"
        assert db.get_one(Case, case_id).owner_organization_id == transfers.ngo.organization_id
    # accepted: no answer left to give
    again = api.post(
        f"/console/offers/{transfer_id}/accept", data={"csrf_token": csrf_of(done.text)}
    )
    assert again.status_code == 409 and "can no longer be answered" in again.text


def test_rejecting_an_offer_needs_a_reason(
    transfers: transfer_world.World, api: TestClient
) -> None:
    transfer_id, _ = transfers.sent()
    ngo_worker(transfers, api)
    form = api.get(f"/console/offers/{transfer_id}/reject")
    assert form.status_code == 200
    empty = api.post(
        f"/console/offers/{transfer_id}/reject", data={"csrf_token": csrf_of(form.text)}
    )
    assert empty.status_code == 400 and 'href="#reason"' in empty.text
    answer = api.post(
        f"/console/offers/{transfer_id}/reject",
        data={"csrf_token": csrf_of(form.text), "reason": "The family is better served in Zinder."},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert "Transfer rejected" in api.get(answer.headers["location"]).text
    with transfers.runtime.sessions() as db:
        assert db.get_one(Transfer, transfer_id).status == "rejected"


def test_an_offer_the_gate_no_longer_permits_is_not_handed_over(
    transfers: transfer_world.World, api: TestClient
) -> None:
    case_id = transfers.case()
    consent = transfers.consent(case_id)
    transfer_id = transfers.propose(case_id).json()["id"]
    ngo_worker(transfers, api)
    page = api.get(f"/console/offers/{transfer_id}")
    transfers.withdraw(consent["id"])
    answer = api.post(
        f"/console/offers/{transfer_id}/accept", data={"csrf_token": csrf_of(page.text)}
    )
    assert answer.status_code == 422 and "Nothing was handed over" in answer.text
    with transfers.runtime.sessions() as db:
        assert db.get_one(Case, case_id).owner_organization_id == transfers.sender.organization_id


def test_another_organisations_offer_is_not_found(
    transfers: transfer_world.World, api: TestClient
) -> None:
    transfer_id, _ = transfers.sent()
    outsider = person(transfers.runtime, transfers.outsider.organization_id, "case_worker")
    sign_in(api, outsider, enrol=False)
    for path in (f"/console/offers/{transfer_id}", f"/console/offers/{transfer_id}/reject"):
        assert api.get(path).status_code == 404
    assert offer_disclosures(transfers.runtime, transfer_id) == []
