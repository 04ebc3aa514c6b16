"""The recipient's erasure confirmation at the console: the received referral's page shows the
erase-by date (its consent's data life) and the button; confirming (CSRF-checked) goes through
the API's own function, so the accounting of disclosures and the API show it alike; the
confirmation page says when and by whom, in English and French, and releases nothing; another
organisation, or the sender, gets a 404; past its date the page says so, and the inbox's list
shows the date still owed."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hub.audit.models import AuditEntry
from hub.clock import utcnow
from hub.disclosures.models import Disclosure
from tests.console.test_inbox import disclosures, sent, worker
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import CANARY_NAME, World

SIX_MONTHS = {"unit": "month", "value": 6}
__all__ = ["worker"]  # the signed-in recipient's case worker (tests/console/test_inbox.py)


def _referral(world: World) -> str:
    """A referral whose consent keeps its data six months at the recipient."""
    case_id = world.case()
    world.consent(case_id, data_life=SIX_MONTHS)
    answer = world.refer(case_id)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_the_recipient_confirms_the_erasure_from_the_referral_page(
    world: World, api: TestClient, worker: Person
) -> None:
    runtime = world.runtime
    referral_id = _referral(world)
    # nothing received yet (never opened): nothing to confirm
    assert api.get(f"/console/received/{referral_id}/erasure").status_code == 404

    shown = api.get(f"/console/received/{referral_id}")
    assert shown.status_code == 200
    [first] = disclosures(runtime, referral_id)
    assert first.erase_by is not None
    assert "Erasing what you received" in shown.text and "Erase by" in shown.text
    assert first.erase_by.strftime("%-d %b %Y") in shown.text
    assert f'action="/console/received/{referral_id}/erasure"' in shown.text
    assert "Erasure confirmed" not in shown.text

    # without the CSRF token: refused, nothing recorded
    refused = api.post(f"/console/received/{referral_id}/erasure", data={})
    assert refused.status_code == 403
    assert disclosures(runtime, referral_id)[0].erasure_confirmed_at is None

    done = api.post(
        f"/console/received/{referral_id}/erasure",
        data={"csrf_token": csrf_of(shown.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/received/{referral_id}/erasure?confirmed=1"
    [row] = disclosures(runtime, referral_id)
    assert row.erasure_confirmed_at is not None
    assert row.erasure_confirmed_by is not None and worker.id in row.erasure_confirmed_by
    with runtime.sessions() as db:
        audited = db.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == referral_id,
                AuditEntry.action == "disclosure.erasure_confirmed",
            )
        ).all()
    assert len(audited) == 1

    confirmation = api.get(done.headers["location"])
    assert confirmation.status_code == 200
    assert "The erasure is confirmed." in confirmation.text
    assert f"by {worker.email}" in confirmation.text
    assert "Confirm the erasure" not in confirmation.text  # nothing waits now
    assert CANARY_NAME not in confirmation.text
    assert len(disclosures(runtime, referral_id)) == 1  # the page released nothing

    # the sender reads it in the accounting of disclosures, as the API's confirmation shows it
    accounting = world.api.get(f"/v1/cases/{row.case_id}/disclosures", headers=world.sender.headers)
    [entry] = accounting.json()["items"]
    assert entry["erasure_confirmed_at"] is not None
    assert entry["erasure_confirmed_by"] == row.erasure_confirmed_by

    french = api.get(f"/console/received/{referral_id}/erasure?lang=fr")
    assert "Effacement des données reçues" in french.text
    assert f"par {worker.email}" in french.text

    # opened again: released again, with its own date; the page says so and asks again
    again = api.get(f"/console/received/{referral_id}?lang=en")
    assert "Erasure confirmed" in again.text and "Confirm again once erased" in again.text
    assert len(disclosures(runtime, referral_id)) == 2


def test_past_its_date_the_page_says_so(world: World, api: TestClient, worker: Person) -> None:
    referral_id = _referral(world)
    # never opened: nothing received, no date in the inbox's list
    assert "Erase what you received by" not in api.get("/console/received").text
    assert api.get(f"/console/received/{referral_id}").status_code == 200
    early = api.get(f"/console/received/{referral_id}/erasure")
    assert "Past its date" not in early.text
    [row] = disclosures(world.runtime, referral_id)
    assert row.erase_by is not None
    listed = api.get("/console/received")
    assert f"Erase what you received by {row.erase_by.strftime('%-d %b %Y')}" in listed.text
    assert "Past its date" not in listed.text
    # its date passed (moved back: a moved clock would end the person's session)
    with world.runtime.sessions.begin() as db:
        db.execute(
            update(Disclosure)
            .where(Disclosure.referral_id == referral_id)
            .values(erase_by=utcnow() - timedelta(days=1))
        )
    late = api.get(f"/console/received/{referral_id}/erasure")
    assert "Past its date: erase it and confirm" in late.text
    assert "Past its date</strong>" in api.get("/console/received").text
    assert "Date dépassée" in api.get("/console/received?lang=fr").text

    # confirmed: the list no longer asks for it
    api.post(
        f"/console/received/{referral_id}/erasure",
        data={"csrf_token": csrf_of(late.text)},
        follow_redirects=False,
    )
    assert "Erase what you received by" not in api.get("/console/received?lang=en").text


def test_only_the_recipient_sees_or_confirms_it(world: World, api: TestClient) -> None:
    referral_id = sent(world)
    # the recipient's system read it: there is something to erase
    assert world.get(referral_id, world.recipient).json()["payload"]
    sender_worker = person(world.runtime, world.sender.organization_id, "case_worker")
    sign_in(api, sender_worker, enrol=False)
    home = api.get("/console")
    token = csrf_of(home.text)
    assert api.get(f"/console/received/{referral_id}/erasure").status_code == 404
    refused = api.post(f"/console/received/{referral_id}/erasure", data={"csrf_token": token})
    assert refused.status_code == 404
    assert disclosures(world.runtime, referral_id)[0].erasure_confirmed_at is None
