"""The sending office's case transfers at the console, page by page, in English and French:
proposing one from the case (the consent gate's answer: sent, held, refused with its reasons),
following it (its plan, its history, a consent officer's answer), the sender's moves from the
lifecycle table (cancel; a move its status no longer allows), and the histories the recipients
read: a transfer's once offered, a referral's with why it was cancelled."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.console import i18n
from hub.console.labels import LABELS
from hub.disclosures.models import Disclosure
from hub.runtime import Runtime
from hub.transfers.models import Transfer
from tests.support import referral_world, transfer_world
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.transfer_world import CANARY_CONTACT, CANARY_NAME, CANARY_PLAN, World

LANGUAGES = ["en", "fr"]


def words(language: str, message: str) -> str:
    """A message as the console writes it in `language` (the catalogue's own translation)."""
    return i18n.translations(language).gettext(message)


@pytest.fixture
def world(runtime: Runtime, api: TestClient) -> World:
    return transfer_world.make_world(runtime, api)


def worker_of(world: World, api: TestClient, organization_id: str, language: str = "en") -> Person:
    """A case worker of the organisation, signed in, the console in `language`."""
    api.cookies.clear()
    who = person(world.runtime, organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    assert api.get(f"/console?lang={language}").status_code == 200
    return who


def plan_form(world: World, to: str | None = None, **overrides: str) -> dict[str, str]:
    fields = {
        "to_organization_id": world.ngo.organization_id if to is None else to,
        "reason": CANARY_PLAN,
        "open_needs": "psychosocial follow-up\n\n  shelter  \n",
        "risks": "exposure to traffickers on the road north",
        "handover_contact": CANARY_CONTACT,
    }
    fields.update(overrides)
    return fields


def propose(api: TestClient, case_id: str, fields: dict[str, str]):  # type: ignore[no-untyped-def]
    form = api.get(f"/console/cases/{case_id}/transfer")
    assert form.status_code == 200, form.text
    return api.post(
        f"/console/cases/{case_id}/transfer",
        data={"csrf_token": csrf_of(form.text), **fields},
        follow_redirects=False,
    )


def transfers_of(runtime: Runtime, case_id: str) -> list[Transfer]:
    with runtime.sessions() as db:
        return list(db.scalars(select(Transfer).where(Transfer.case_id == case_id)))


def text_of(page: str) -> str:
    return html.unescape(page)


# --- proposing


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_case_worker_proposes_a_transfer_from_the_case_with_its_plan(
    language: str, world: World, api: TestClient
) -> None:
    case_id = world.case()
    world.consent(case_id)
    worker_of(world, api, world.sender.organization_id, language)
    case_page = api.get(f"/console/cases/{case_id}")
    assert f'href="/console/cases/{case_id}/transfer"' in case_page.text
    form = api.get(f"/console/cases/{case_id}/transfer")
    assert form.status_code == 200
    assert "Partner NGO" in form.text and "IOM Agadez" not in form.text  # not to itself
    assert words(language, "Propose a case transfer") in text_of(form.text)

    answer = propose(api, case_id, plan_form(world))

    assert answer.status_code == 303, answer.text
    [made] = transfers_of(world.runtime, case_id)
    assert answer.headers["location"] == f"/console/transfers/{made.id}?proposed=1"
    # the transfer as the API shows its sender: sent, with the plan as written
    read = world.get(made.id, world.sender).json()
    assert read["status"] == "sent"
    assert read["plan"] == {
        "reason": CANARY_PLAN,
        "open_needs": ["psychosocial follow-up", "shelter"],
        "risks": "exposure to traffickers on the road north",
        "handover_contact": CANARY_CONTACT,
    }
    page = api.get(answer.headers["location"])
    assert page.status_code == 200
    text = text_of(page.text)
    assert words(language, "Transfer proposed") in text
    assert CANARY_PLAN in text and CANARY_NAME not in text
    title = re.search(r"<title>(.*?)</title>", page.text, re.S)
    assert title is not None and made.id[:8] in title.group(1)
    assert CANARY_PLAN not in answer.headers["location"]
    # the case now offers no second proposal, but the way to follow this one
    case_page = api.get(f"/console/cases/{case_id}")
    assert f'href="/console/cases/{case_id}/transfer"' not in case_page.text
    assert f'href="/console/transfers/{made.id}"' in case_page.text


def test_a_second_proposal_while_one_is_open_is_said_plainly(world: World, api: TestClient) -> None:
    transfer_id, case_id = world.sent()
    worker_of(world, api, world.sender.organization_id)
    answer = propose(api, case_id, plan_form(world))
    assert answer.status_code == 400
    assert "already has an open transfer" in answer.text
    assert f'href="/console/transfers/{transfer_id}"' in answer.text
    assert len(transfers_of(world.runtime, case_id)) == 1


def test_the_same_form_sent_twice_proposes_once(world: World, api: TestClient) -> None:
    case_id = world.case()
    world.consent(case_id)
    worker_of(world, api, world.sender.organization_id)
    form = api.get(f"/console/cases/{case_id}/transfer")
    key = re.search(r'name="send_key" value="([^"]+)"', form.text)
    assert key is not None
    data = {"csrf_token": csrf_of(form.text), "send_key": key.group(1), **plan_form(world)}
    path = f"/console/cases/{case_id}/transfer"
    first = api.post(path, data=data, follow_redirects=False)
    again = api.post(path, data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert len(transfers_of(world.runtime, case_id)) == 1


def test_the_form_names_each_missing_answer_and_keeps_the_others(
    world: World, api: TestClient
) -> None:
    case_id = world.case()
    worker_of(world, api, world.sender.organization_id)
    answer = propose(
        api, case_id, plan_form(world, to="", reason="", open_needs=" \n ", handover_contact="")
    )
    assert answer.status_code == 400
    for anchor in ("#recipient-", "#reason", "#open_needs", "#handover_contact"):
        assert f'href="{anchor}' in answer.text
    assert 'href="#risks"' not in answer.text
    assert "exposure to traffickers on the road north" in answer.text  # kept
    assert transfers_of(world.runtime, case_id) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_transfer_the_gate_refuses_shows_why_and_nothing_is_made(
    language: str, world: World, api: TestClient
) -> None:
    case_id = world.case()  # no consent recorded
    worker_of(world, api, world.sender.organization_id, language)
    answer = propose(api, case_id, plan_form(world))
    assert answer.status_code == 422
    text = text_of(answer.text)
    assert words(language, "The transfer cannot be proposed") in text
    assert words(language, LABELS["reasons"]["no_consent"]) in text
    assert transfers_of(world.runtime, case_id) == []
    assert CANARY_PLAN not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_transfer_held_for_review_says_so_and_why(
    language: str, world: World, api: TestClient
) -> None:
    ministry = transfer_world.ministry(world)
    case_id = world.case()
    world.consent(case_id, recipients={"organizations": [], "kinds": ["government"]})
    worker_of(world, api, world.sender.organization_id, language)
    answer = propose(api, case_id, plan_form(world, to=ministry.organization_id))
    assert answer.status_code == 303, answer.text
    [made] = transfers_of(world.runtime, case_id)
    assert made.status == "pending_review"
    text = text_of(api.get(answer.headers["location"]).text)
    assert words(language, "Transfer held for a consent officer's review") in text
    assert words(language, LABELS["reasons"]["recipient_government"]) in text


# --- following it


def test_another_organisations_transfer_is_not_found(world: World, api: TestClient) -> None:
    transfer_id, case_id = world.sent()
    for organization_id in (world.ngo.organization_id, world.outsider.organization_id):
        worker = worker_of(world, api, organization_id)
        assert worker.organization_id == organization_id
        # the recipient has it on its offers' side; the sender's pages are not its
        for path in ("", "/cancel"):
            assert api.get(f"/console/transfers/{transfer_id}{path}").status_code == 404
        home = api.get("/console")
        cancel = api.post(
            f"/console/transfers/{transfer_id}/cancel",
            data={"csrf_token": csrf_of(home.text), "reason": "not ours"},
        )
        assert cancel.status_code == 404
        assert api.get(f"/console/cases/{case_id}/transfer").status_code == 404
    with world.runtime.sessions() as db:
        assert db.get_one(Transfer, transfer_id).status == "sent"
    worker_of(world, api, world.sender.organization_id)
    assert api.get("/console/transfers/nonexistent").status_code == 404


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sender_cancels_with_a_reason_and_a_move_no_longer_allowed_is_refused(
    language: str, world: World, api: TestClient
) -> None:
    transfer_id, _ = world.sent()
    worker_of(world, api, world.sender.organization_id, language)
    page = api.get(f"/console/transfers/{transfer_id}")
    # the sender's moves are the table's: cancel (with words); resubmit only once sent back
    assert f'href="/console/transfers/{transfer_id}/cancel"' in page.text
    assert f'action="/console/transfers/{transfer_id}/resubmit"' not in page.text
    form = api.get(f"/console/transfers/{transfer_id}/cancel")
    assert form.status_code == 200
    empty = api.post(
        f"/console/transfers/{transfer_id}/cancel", data={"csrf_token": csrf_of(form.text)}
    )
    assert empty.status_code == 400 and 'href="#reason"' in empty.text
    answer = api.post(
        f"/console/transfers/{transfer_id}/cancel",
        data={"csrf_token": csrf_of(form.text), "reason": "The family came back to Agadez."},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/transfers/{transfer_id}?moved=cancel"
    assert world.get(transfer_id, world.sender).json()["status"] == "cancelled"
    text = text_of(api.get(answer.headers["location"]).text)
    cancelled = words(language, LABELS["sent_transfer_statuses"]["cancelled"])
    assert cancelled in text and "The family came back to Agadez." in text
    assert f'href="/console/transfers/{transfer_id}/cancel"' not in text

    # cancelled: the table allows no cancel any more, said in words with the status
    again = api.post(
        f"/console/transfers/{transfer_id}/cancel",
        data={"csrf_token": csrf_of(form.text), "reason": "twice"},
    )
    assert again.status_code == 409
    assert words(language, "This cannot be done now") in text_of(again.text)
    assert cancelled in text_of(again.text)
    assert api.get(f"/console/transfers/{transfer_id}/cancel").status_code == 409
    # a move the table does not give the sender is no page at all
    assert api.get(f"/console/transfers/{transfer_id}/accept").status_code == 404
    accept = api.post(
        f"/console/transfers/{transfer_id}/accept", data={"csrf_token": csrf_of(form.text)}
    )
    assert accept.status_code == 404


def test_a_move_without_the_csrf_token_is_refused(world: World, api: TestClient) -> None:
    transfer_id, _ = world.sent()
    worker_of(world, api, world.sender.organization_id)
    answer = api.post(f"/console/transfers/{transfer_id}/cancel", data={"reason": "x"})
    assert answer.status_code == 403
    assert world.get(transfer_id, world.sender).json()["status"] == "sent"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_history_shows_each_move_with_the_recipients_words(
    language: str, world: World, api: TestClient
) -> None:
    transfer_id, _ = world.sent()
    rejected = world.act(transfer_id, "reject", world.ngo, {"reason": "No case worker in Zinder"})
    assert rejected.status_code == 200, rejected.text
    worker_of(world, api, world.sender.organization_id, language)
    page = api.get(f"/console/transfers/{transfer_id}")
    assert page.status_code == 200
    text = text_of(page.text)
    statuses = LABELS["sent_transfer_statuses"]
    moved = words(language, "From “%(from)s” to “%(to)s”") % {
        "from": words(language, statuses["sent"]),
        "to": words(language, statuses["rejected"]),
    }
    assert moved in text
    assert "No case worker in Zinder" in text
    assert words(language, LABELS["status_reasons"]["rejected_by_recipient"]) in text
    assert "Partner NGO" in text
    # the API's history: the same events
    events = world.events(transfer_id, world.sender)
    assert len(events) == page.text.count('<li class="event">') == 2


def test_a_consent_officer_sending_it_back_is_shown_and_it_can_be_resubmitted(
    world: World, api: TestClient
) -> None:
    ministry = transfer_world.ministry(world)
    case_id = world.case()
    world.consent(case_id, recipients={"organizations": [], "kinds": ["government"]})
    held = world.propose(case_id, ministry)
    assert held.status_code == 202, held.text
    transfer_id, review_id = held.json()["id"], held.json()["review_id"]
    world.decide(review_id, "return")
    worker_of(world, api, world.sender.organization_id)
    page = text_of(api.get(f"/console/transfers/{transfer_id}").text)
    assert "A consent officer sent this transfer back for correction" in page
    assert "checked with the case worker" in page
    assert f'action="/console/transfers/{transfer_id}/resubmit"' in page
    assert f'href="/console/transfers/{transfer_id}/cancel"' in page
    answer = api.post(
        f"/console/transfers/{transfer_id}/resubmit",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert world.get(transfer_id, world.sender).json()["status"] == "pending_review"
    again = text_of(api.get(answer.headers["location"]).text)
    assert "The transfer is now “Waiting for a consent officer”." in again
    assert "The recipient is a government body" in again


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_consent_officers_denial_is_shown_with_why(
    language: str, world: World, api: TestClient
) -> None:
    ministry = transfer_world.ministry(world)
    case_id = world.case()
    world.consent(case_id, recipients={"organizations": [], "kinds": ["government"]})
    held = world.propose(case_id, ministry)
    assert held.status_code == 202, held.text
    world.decide(held.json()["review_id"], "deny")
    worker_of(world, api, world.sender.organization_id, language)
    page = text_of(api.get(f"/console/transfers/{held.json()['id']}").text)
    assert words(language, "A consent officer denied this transfer") in page
    assert "checked with the case worker" in page
    assert words(language, LABELS["status_reasons"]["review_denied"]) in page
    assert f"/console/transfers/{held.json()['id']}/cancel" not in page  # nothing left to do


def test_the_board_and_the_case_link_to_the_transfer(world: World, api: TestClient) -> None:
    transfer_id, case_id = world.sent()
    worker_of(world, api, world.sender.organization_id)
    link = f'href="/console/transfers/{transfer_id}"'
    assert link in api.get("/console/board").text
    assert link in api.get(f"/console/cases/{case_id}").text
    assert CANARY_PLAN not in api.get("/console/board").text


# --- the recipients' histories


@pytest.mark.parametrize("language", LANGUAGES)
def test_after_accepting_the_recipient_and_the_sender_read_the_history(
    language: str, world: World, api: TestClient
) -> None:
    transfer_id, case_id = world.sent()
    assert world.act(transfer_id, "accept", world.ngo).status_code == 200
    worker_of(world, api, world.ngo.organization_id, language)
    offer = text_of(api.get(f"/console/offers/{transfer_id}").text)
    accepted = words(language, "From “%(from)s” to “%(to)s”") % {
        "from": words(language, LABELS["transfer_statuses"]["accepted"]),
        "to": words(language, LABELS["transfer_statuses"]["completed"]),
    }
    assert accepted in offer
    # the case is the partner's now: its page lists the transfer, on the partner's side
    case_page = api.get(f"/console/cases/{case_id}")
    assert f'href="/console/offers/{transfer_id}"' in case_page.text

    worker_of(world, api, world.sender.organization_id, language)
    page = text_of(api.get(f"/console/transfers/{transfer_id}").text)
    assert words(language, LABELS["sent_transfer_statuses"]["completed"]) in page
    assert page.count('<li class="event">') == 3
    # the case left the office: no link to a page it may no longer open
    assert f'href="/console/cases/{case_id}"' not in page


@pytest.fixture
def referrals(runtime: Runtime, api: TestClient) -> referral_world.World:
    return referral_world.make_world(runtime, api)


def _recipient(referrals: referral_world.World, api: TestClient, language: str) -> None:
    api.cookies.clear()
    who = person(referrals.runtime, referrals.recipient.organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    assert api.get(f"/console?lang={language}").status_code == 200


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_partner_reads_why_a_referral_was_cancelled_in_its_history(
    language: str, referrals: referral_world.World, api: TestClient
) -> None:
    referral_id = referrals.sent()
    cancelled = referrals.act(
        referral_id, "cancel", referrals.sender, {"reason": "The family left for Niamey."}
    )
    assert cancelled.status_code == 200, cancelled.text
    _recipient(referrals, api, language)
    page = api.get(f"/console/received/{referral_id}")
    assert page.status_code == 200
    text = text_of(page.text)
    assert words(language, LABELS["status_reasons"]["cancelled_by_sender"]) in text
    # the sender's words, released as the API's events read releases them, and accounted for
    assert "The family left for Niamey." in text
    api_events = referrals.api.get(
        f"/v1/referrals/{referral_id}/events", headers=referrals.recipient.headers
    ).json()["items"]
    assert len(api_events) == page.text.count('<li class="event">')
    with referrals.runtime.sessions() as db:
        rows = db.scalars(select(Disclosure).where(Disclosure.referral_id == referral_id))
        assert any(r.categories == [] for r in rows)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_partner_reads_that_a_withdrawal_of_consent_cancelled_the_referral(
    language: str, referrals: referral_world.World, api: TestClient
) -> None:
    case_id = referrals.case()
    consent = referrals.consent(case_id)
    referral_id = referrals.refer(case_id).json()["id"]
    referrals.withdraw(consent["id"])
    _recipient(referrals, api, language)
    text = text_of(api.get(f"/console/received/{referral_id}").text)
    moved = words(language, "From “%(from)s” to “%(to)s”") % {
        "from": words(language, LABELS["referral_statuses"]["sent"]),
        "to": words(language, LABELS["referral_statuses"]["cancelled"]),
    }
    assert moved in text
    assert words(language, LABELS["status_reasons"]["consent_withdrawn"]) in text
    assert words(language, "The hub") in text
    assert referral_world.CANARY_NAME not in text and referral_world.CANARY_NOTE not in text
