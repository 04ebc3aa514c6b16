"""The sending office's tracking board, page by page: its referrals (overdue first) and
transfers, each referral's history with a consent officer's answer, and the charts whose numbers
are the figures service's, in their tables and in the SVGs' descriptions."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from hub.clock import utcnow
from hub.lifecycle.models import LifecycleEvent
from hub.referrals import figures
from hub.referrals.models import Referral
from hub.runtime import Runtime
from tests.support import transfer_world
from tests.support.outbox_drain import drain
from tests.support.people import Person, person, sign_in
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World
from tests.support.reviews import consent_officer

WHY = "Legal status is not needed for psychosocial support: remove it, or explain."


@pytest.fixture
def worker(world: World, api: TestClient) -> Person:
    """A case worker of the sending office, signed in."""
    who = person(world.runtime, world.sender.organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    return who


def listed(text: str) -> list[str]:
    return re.findall(r'href="/console/board/referrals/([0-9a-f]+)"', text)


def late(world: World, referral_id: str) -> None:
    with world.runtime.sessions.begin() as db:
        db.execute(
            update(Referral)
            .where(Referral.id == referral_id)
            .values(acknowledge_by=utcnow() - timedelta(hours=1))
        )


def test_the_board_puts_the_overdue_first_then_the_urgent_then_the_oldest(
    world: World, worker: Person, api: TestClient
) -> None:
    oldest = world.sent()
    newer = world.sent()
    emergency = world.sent(urgency="emergency")
    overdue = world.sent()
    declined = world.sent()
    assert world.act(declined, "decline", world.recipient, {"reason": "full"}).status_code == 200
    late(world, overdue)

    page = api.get("/console/board")

    assert page.status_code == 200
    assert listed(page.text) == [overdue, emergency, oldest, newer]
    assert "Overdue" in page.text and "Emergency" in page.text and "Partner NGO" in page.text
    assert '<a href="/console/board" aria-current="page">Tracking</a>' in page.text
    assert CANARY_NAME not in page.text and CANARY_NOTE not in page.text
    assert page.headers["cache-control"] == "no-store"
    closed = api.get("/console/board?show=closed")
    assert listed(closed.text) == [declined]


def test_the_time_since_the_last_move_is_in_the_pages_language(
    world: World, worker: Person, api: TestClient
) -> None:
    referral_id = world.sent()
    with world.runtime.sessions.begin() as db:
        db.execute(
            update(Referral)
            .where(Referral.id == referral_id)
            .values(created_at=utcnow() - timedelta(days=3))
        )
    # its sending is its last move: an event, whatever the row's times say
    with world.runtime.sessions.begin() as db:
        db.execute(
            update(LifecycleEvent)
            .where(LifecycleEvent.object_id == referral_id)
            .values(at=utcnow() - timedelta(days=3, hours=2))
        )
    assert "3 days" in api.get("/console/board?lang=en").text
    assert re.search("3[ \xa0]jours", api.get("/console/board?lang=fr").text)


def test_another_organisations_referrals_are_not_on_its_board_and_their_history_is_404(
    world: World, api: TestClient
) -> None:
    referral_id = world.sent()
    for organization_id in (world.recipient.organization_id, world.outsider.organization_id):
        api.cookies.clear()
        sign_in(api, person(world.runtime, organization_id, "case_worker"), enrol=False)
        board = api.get("/console/board")
        assert board.status_code == 200 and referral_id not in board.text
        # the recipient has it, but on its received side: the sender's history is not its
        assert api.get(f"/console/board/referrals/{referral_id}").status_code == 404
    assert api.get("/console/board/referrals/nonexistent").status_code == 404


def test_the_history_shows_each_move_and_the_recipients_words(
    world: World, worker: Person, api: TestClient
) -> None:
    referral_id = world.sent()
    assert world.act(referral_id, "acknowledge", world.recipient).status_code == 200
    answer = world.act(referral_id, "decline", world.recipient, {"reason": "No place until May"})
    assert answer.status_code == 200

    page = api.get(f"/console/board/referrals/{referral_id}")

    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "From “Acknowledged” to “Declined”" in text
    assert "From “Sent” to “Acknowledged”" in text
    assert "No place until May" in text and "Declined by the recipient" in text
    # the API's history: the same events
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    assert len(events.json()["items"]) == text.count('<li class="event">') == 3
    # no name, no reference in the title
    title = re.search(r"<title>(.*?)</title>", page.text, re.S)
    assert title is not None and referral_id[:8] in title.group(1)
    assert CANARY_NAME not in page.text


@pytest.mark.parametrize("verdict", ["deny", "return"])
def test_the_history_says_why_a_consent_officer_denied_or_sent_back(
    verdict: str, world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    world.consent(case_id, categories=["identity", "contact", "psychosocial", "legal_status"])
    held = world.refer(case_id)
    assert held.status_code == 202, held.text
    referral_id, review_id = held.json()["id"], held.json()["review_id"]
    officer = consent_officer(world.runtime, world.sender.organization_id)
    decided = world.api.post(
        f"/v1/reviews/{review_id}/{verdict}",
        json={"justification": WHY},
        headers=world.officer.headers | {"On-Behalf-Of": officer},
    )
    assert decided.status_code == 200, decided.text
    drain(world.runtime)

    page = api.get(f"/console/board/referrals/{referral_id}")

    assert page.status_code == 200
    text = html.unescape(page.text)
    heading = "denied" if verdict == "deny" else "sent this referral back"
    assert f"A consent officer {heading}" in text
    assert WHY in text
    # what the API shows the sender, and no more
    read = world.api.get(f"/v1/referrals/{referral_id}", headers=world.sender.headers).json()
    assert read["review"]["justification"] == WHY


def test_the_transfers_the_office_sent_are_on_its_board(api: TestClient, runtime: Runtime) -> None:
    world = transfer_world.make_world(runtime, api)
    transfer_id, _ = world.sent()
    sign_in(api, person(world.runtime, world.sender.organization_id, "case_worker"), enrol=False)
    page = api.get("/console/board")
    assert page.status_code == 200
    assert transfer_id[:8] in page.text
    assert "Waiting for the recipient&#39;s answer" in page.text
    assert transfer_world.CANARY_PLAN not in page.text


# --- the figures, the tables and the charts


def _tables(text: str) -> dict[str, list[list[str]]]:
    """Each numbers table's rows, as the cells' text."""
    out = {}
    for table_id, body in re.findall(
        r'<table class="numbers" id="(table-\w+)">(.*?)</table>', text, re.S
    ):
        rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)
        out[table_id] = [
            [
                html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
                for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            ]
            for row in rows
        ]
    return out


def _charts(text: str) -> dict[str, str]:
    """Each chart's SVG, by its id."""
    return dict(
        re.findall(r'<svg [^>]*aria-labelledby="(chart-\w+)-title [^"]*">(.*?)</svg>', text, re.S)
    )


def _figured(world: World, worker: Person, api: TestClient) -> None:
    """Referrals in two statuses, one acknowledged an hour and a half after it was sent."""
    first = world.sent()
    world.sent()
    world.sent(urgency="high")
    assert world.act(first, "acknowledge", world.recipient).status_code == 200
    with world.runtime.sessions.begin() as db:
        sent_at = db.get_one(Referral, first).sent_at
        assert sent_at is not None
        db.execute(
            update(LifecycleEvent)
            .where(LifecycleEvent.object_id == first, LifecycleEvent.to_status == "acknowledged")
            .values(at=sent_at + timedelta(minutes=90))
        )


def test_the_tables_hold_the_services_figures(
    world: World, worker: Person, api: TestClient
) -> None:
    _figured(world, worker, api)
    page = api.get("/console/board")
    with world.runtime.sessions() as db:
        found = figures.figures(db=db, organization_id=world.sender.organization_id)
    tables = _tables(page.text)
    assert tables["table-status"] == [["Sent", "2"], ["Acknowledged", "1"]]
    assert [[s.status, s.count] for s in found.by_status] == [["sent", 2], ["acknowledged", 1]]
    assert tables["table-partner"] == [[p.name, str(p.count)] for p in found.by_partner]
    [ack] = found.acknowledgement
    assert tables["table-acknowledgement"] == [
        [ack.name, f"{ack.median_hours} h", f"{ack.acknowledged} of {ack.sent}"]
    ]
    assert (ack.median_hours, ack.acknowledged, ack.sent) == (1.5, 1, 3)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_each_chart_is_an_image_with_a_title_a_description_and_its_tables_numbers(
    language: str, world: World, worker: Person, api: TestClient
) -> None:
    _figured(world, worker, api)
    page = api.get(f"/console/board?lang={language}")
    tables = _tables(page.text)
    svgs = re.findall(r"<svg [^>]*>", page.text)
    assert len(svgs) == 3
    for tag in svgs:
        assert 'role="img"' in tag and "aria-labelledby" in tag
    for name, svg in _charts(page.text).items():
        title = re.search(rf'<title id="{name}-title">(.+?)</title>', svg)
        desc = re.search(rf'<desc id="{name}-desc">(.+?)</desc>', svg)
        assert title is not None and desc is not None
        table = tables[name.replace("chart-", "table-")]
        names = " ".join(re.findall(r'<text class="chart-label"[^>]*>(.*?)</text>', svg))
        values = re.findall(r'<text class="chart-value"[^>]*>(.*?)</text>', svg)
        drawn = [html.unescape(names), *map(html.unescape, values)]
        described = html.unescape(desc.group(1))
        for row in table:
            label, number = row[0], row[1]
            # each bar: its name and its number drawn, and both said in the description
            assert label in drawn[0] and number in drawn[1:], (row, drawn)
            assert f"{label}: {number}" in described
        # a bar for each row
        assert len(re.findall(r"<rect ", svg)) == len(table)


def test_an_office_that_sent_nothing_sees_no_chart(
    world: World, worker: Person, api: TestClient
) -> None:
    page = api.get("/console/board")
    assert page.status_code == 200 and "<svg" not in page.text
    assert "No referral to show." in page.text
