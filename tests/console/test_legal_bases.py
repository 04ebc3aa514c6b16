"""Legal bases beside consent at the console: the Refer flow's "send without consent, on a legal
basis" (the bases of the person's role, the justification, the dry run on that basis), the two
consent officers' approvals on the review page, the people the office must inform afterwards
(the list, the form, the case page, the navigation's count, the reminder's words), and the
basis on the person's statement. Every rule is the services' (`sending.check_basis`,
`reviews.decide`, `legal_bases.notices`): these tests check that the pages show and ask them."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select

from hub.clock import utcnow
from hub.consent.models import GateDecision
from hub.legal_bases import notices
from hub.legal_bases.models import PersonNotice
from hub.referrals.models import Referral
from hub.reviews.models import Review
from tests.support import outbox_drain
from tests.support.api import officer_for
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import CANARY_NAME, World

JUSTIFICATION = "She is unconscious at the clinic; her contact must reach the medical team."
# all the case holds but legal status: psychosocial is not one of vital interest's categories
ASKED = ["contact", "health", "identity", "psychosocial"]


@pytest.fixture
def worker(world: World, api: TestClient) -> Person:
    who = person(world.runtime, world.sender.organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    return who


def _count(world: World, model: type) -> int:
    with world.runtime.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _form(world: World, html: str, **fields: Any) -> dict[str, Any]:
    return {
        "csrf_token": csrf_of(html),
        "service_type": "psychosocial_support",
        "to_organization_id": world.recipient.organization_id,
        "categories": ASKED,
        **fields,
    }


def _check(world: World, api: TestClient, case_id: str, **fields: Any) -> httpx.Response:
    page = api.get(
        f"/console/cases/{case_id}/refer/recipient", params={"service_type": "psychosocial_support"}
    )
    assert page.status_code == 200, page.text
    return api.post(f"/console/cases/{case_id}/refer/check", data=_form(world, page.text, **fields))


def test_the_check_page_offers_the_bases_the_persons_role_may_invoke(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()  # no consent: the gate would refuse
    check = _check(world, api, case_id)
    assert check.status_code == 200 and "This referral cannot be sent" in check.text
    assert "Send without consent, on a legal basis" in check.text
    assert 'name="basis" value="choose"' in check.text
    chosen = api.post(
        f"/console/cases/{case_id}/refer/check", data=_form(world, check.text, basis="choose")
    )
    assert chosen.status_code == 200
    assert "Two consent officers of your office must approve it" in chosen.text
    assert "tell the person (or their caregiver)" in chosen.text
    # the policy's bases for a case worker: not the legal obligation (consent officers only)
    assert '<option value="vital_interest">Vital interest</option>' in chosen.text
    assert 'value="best_interests_determination"' in chosen.text
    assert 'value="legal_obligation"' not in chosen.text
    # what each basis allows, in words
    assert "Vital interest: Identity, Contact details, Health, Protection concerns" in chosen.text
    french = api.post(
        f"/console/cases/{case_id}/refer/check?lang=fr",
        data=_form(world, check.text, basis="choose"),
    )
    assert "Envoyer sans consentement, sur une base légale" in french.text
    assert ">Intérêt vital</option>" in french.text
    assert "Détermination de l&#39;intérêt supérieur (DIS)" in french.text
    assert _count(world, Referral) == 0


def test_a_missing_basis_or_justification_is_in_the_error_summary(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    nothing = _check(world, api, case_id, legal_basis="", basis_justification="")
    assert nothing.status_code == 400
    assert 'class="error-summary"' in nothing.text and 'href="#legal_basis"' in nothing.text
    assert "Choose the legal basis." in nothing.text
    # the service's own refusal (422 `basis_justification_required`), in the form's words
    unjustified = _check(world, api, case_id, legal_basis="vital_interest", basis_justification=" ")
    assert unjustified.status_code == 400
    assert 'href="#basis_justification"' in unjustified.text
    assert "Write why the legal basis applies" in unjustified.text
    assert '<option value="vital_interest" selected>' in unjustified.text
    # a basis the role may not invoke (403 `legal_basis_not_allowed`), from a forged form
    forged = _check(
        world, api, case_id, legal_basis="legal_obligation", basis_justification=JUSTIFICATION
    )
    assert forged.status_code == 403
    assert "Your role may not invoke this legal basis." in forged.text
    french = api.post(
        f"/console/cases/{case_id}/refer/check?lang=fr",
        data=_form(world, forged.text, legal_basis="vital_interest", basis_justification=""),
    )
    assert "Expliquez pourquoi la base légale s&#39;applique" in french.text
    assert _count(world, Referral) == 0


def test_the_check_on_a_basis_shows_the_gates_answer_then_sends_for_two_officers(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    check = _check(
        world, api, case_id, legal_basis="vital_interest", basis_justification=JUSTIFICATION
    )
    assert check.status_code == 200, check.text
    text = check.text
    assert "Legal basis: Vital interest" in text and JUSTIFICATION in text
    assert "Two consent officers must approve it" in text
    assert "only these kinds of data can ever leave: Identity, Contact details, Health" in text
    # psychosocial is asked for but not one of the basis's categories: withheld, and why
    assert "<dt>Psychosocial</dt><dd>The legal basis does not allow it</dd>" in text
    assert CANARY_NAME not in text
    # the send form carries the basis along
    assert 'name="legal_basis" value="vital_interest"' in text
    with world.runtime.sessions() as db:
        decision = db.scalars(select(GateDecision)).one()
        assert decision.legal_basis == "vital_interest"
    assert _count(world, Referral) == 0
    sent = api.post(
        f"/console/cases/{case_id}/refer/send",
        data=_form(
            world,
            text,
            legal_basis="vital_interest",
            basis_justification=JUSTIFICATION,
            urgency="normal",
            note="",
        ),
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    with world.runtime.sessions() as db:
        referral = db.scalars(select(Referral)).one()
        assert (referral.status, referral.legal_basis) == ("pending_review", "vital_interest")
        assert referral.categories == ["contact", "health", "identity"]
        review = db.get_one(Review, referral.review_id)
        assert (review.officers_required, review.urgency) == (2, "emergency")
    # back on consent: the choice drops the basis
    again = _check(world, api, case_id)
    assert "Legal basis: Vital interest" not in again.text


# -- the review: two consent officers ------------------------------------------------------------
def basis_request(world: World, maker: str | None = None) -> dict[str, Any]:
    """A referral on vital interest held for two officers, made for a case worker of the sender
    through the API (`On-Behalf-Of`)."""
    case_id = world.case()
    maker = maker or person(world.runtime, world.sender.organization_id, "case_worker").id
    answer = world.refer(
        case_id,
        categories=["identity", "contact", "health"],
        legal_basis="vital_interest",
        basis_justification=JUSTIFICATION,
        headers={**world.sender.headers, "On-Behalf-Of": maker},
    )
    assert answer.status_code == 202, answer.text
    return {"case_id": case_id, **answer.json()}


def _decide(api: TestClient, review_id: str, outcome: str, words: str, **extra: str) -> Any:
    page = api.get(f"/console/reviews/{review_id}")
    form = {"csrf_token": csrf_of(page.text), "outcome": outcome, "justification": words}
    return api.post(f"/console/reviews/{review_id}/decision", data={**form, **extra})


def test_two_officers_approve_and_the_first_cannot_be_the_second(
    world: World, api: TestClient
) -> None:
    request = basis_request(world)
    review_id = request["review_id"]
    first = person(world.runtime, world.sender.organization_id, "consent_officer")
    sign_in(api, first)
    page = api.get(f"/console/reviews/{review_id}")
    assert page.status_code == 200
    assert "Asked without the person's consent" in page.text
    assert "Legal basis: Vital interest" in page.text and JUSTIFICATION in page.text
    assert "0 of 2 approvals" in page.text
    assert "Without consent" in api.get("/console/reviews").text

    check = _decide(api, review_id, "approved", "Her life is at risk: the clinic needs it.")
    assert check.status_code == 200 and "Your approval is the first of two." in check.text
    done = _decide(
        api, review_id, "approved", "Her life is at risk: the clinic needs it.", confirm="1"
    )
    assert done.status_code == 200 and "First approval recorded" in done.text
    outbox_drain.drain(world.runtime)
    with world.runtime.sessions() as db:
        review = db.get_one(Review, review_id)
        assert (
            review.status == "pending"
            and review.first_approved_by == f"user:{first.id}@{first.organization_id}"
        )
        assert db.get_one(Referral, request["id"]).status == "pending_review"

    page = api.get(f"/console/reviews/{review_id}")
    assert "1 of 2 approvals" in page.text and first.email in page.text
    assert "Her life is at risk: the clinic needs it." in page.text
    assert "A second consent officer, other than the first, must now approve it." in page.text
    assert "You gave the first approval." in page.text
    # the same officer again: the service's 403 `second_officer_required`, in the form's words
    again = _decide(api, review_id, "approved", "Approving twice.")
    assert again.status_code == 403
    assert 'class="error-summary"' in again.text and 'href="#outcome-approved"' in again.text
    assert "You have already approved this request." in again.text
    forced = _decide(api, review_id, "approved", "Approving twice.", confirm="1")
    assert forced.status_code == 403
    french = api.get(f"/console/reviews/{review_id}?lang=fr")
    assert "Base légale : Intérêt vital" in french.text
    assert "Approbations : 1 sur 2" in french.text

    second = person(world.runtime, world.sender.organization_id, "consent_officer")
    with TestClient(api.app) as other:
        sign_in(other, second)
        done = _decide(other, review_id, "approved", "Agreed: vital interest.", confirm="1")
        assert done.status_code == 200 and "Request approved" in done.text
    outbox_drain.drain(world.runtime)
    with world.runtime.sessions() as db:
        review = db.get_one(Review, review_id)
        assert review.status == "approved"
        assert review.decided_by == f"user:{second.id}@{second.organization_id}"
        assert db.get_one(Referral, request["id"]).status in ("sent", "delivered")


# -- the people to inform ------------------------------------------------------------------------
def released(world: World, maker: str) -> dict[str, Any]:
    """A referral on vital interest approved by two officers (through the API), sent, and read
    by the recipient: the office owes the person the news."""
    request = basis_request(world, maker)
    for words in ("First: her life is at risk.", "Second: agreed."):
        officer = officer_for(world.runtime, world.api, world.sender.organization_id)
        answer = world.api.post(
            f"/v1/reviews/{request['review_id']}/approve",
            json={"justification": words},
            headers=officer.headers,
        )
        assert answer.status_code == 200, answer.text
    outbox_drain.drain(world.runtime)
    read = world.get(request["id"], world.recipient)
    assert read.status_code == 200, read.text
    with world.runtime.sessions() as db:
        notice = db.scalars(
            select(PersonNotice).where(PersonNotice.referral_id == request["id"])
        ).one()
    return {**request, "notice_id": notice.id}


def test_the_office_records_that_the_person_was_told(
    world: World, worker: Person, api: TestClient
) -> None:
    request = released(world, worker.id)
    notice_id = request["notice_id"]
    reference = world.api.get(
        f"/v1/cases/{request['case_id']}", headers=world.sender.headers
    ).json()["external_ref"]
    home = api.get("/console")
    assert 'People to inform <span class="count">(1)</span>' in home.text
    listing = api.get("/console/person-notices")
    assert listing.status_code == 200
    for words in (
        reference,
        "Partner NGO",
        "Vital interest",
        f"/console/person-notices/{notice_id}",
    ):
        assert words in listing.text
    assert CANARY_NAME not in listing.text and reference not in listing.text.split("</title>")[0]
    page = api.get(f"/console/person-notices/{notice_id}")
    assert page.status_code == 200 and "Record that they were told" in page.text
    assert f'href="/console/cases/{request["case_id"]}/statement"' in page.text

    url = f"/console/person-notices/{notice_id}/told"
    empty = api.post(url, data={"csrf_token": csrf_of(page.text), "told_on": ""})
    assert empty.status_code == 400
    assert 'href="#told_whom-subject"' in empty.text and 'href="#told_how-in_person"' in empty.text
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    future = api.post(
        url,
        data={
            "csrf_token": csrf_of(page.text),
            "told_whom": "caregiver",
            "told_how": "phone",
            "told_on": tomorrow,
        },
    )
    assert future.status_code == 400 and 'href="#told_on"' in future.text
    assert "The day must be on or after the disclosure" in future.text
    with world.runtime.sessions() as db:
        assert db.get_one(PersonNotice, notice_id).told_at is None

    done = api.post(
        url,
        data={"csrf_token": csrf_of(page.text), "told_whom": "caregiver", "told_how": "phone"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = api.get(done.headers["location"])
    assert "Recorded: the reminders have stopped." in shown.text
    assert "A parent or caregiver" in shown.text and "By phone" in shown.text
    assert worker.email in shown.text
    assert 'People to inform <span class="count">(0)</span>' in shown.text
    with world.runtime.sessions() as db:
        notice = db.get_one(PersonNotice, notice_id)
        assert (notice.told_whom, notice.told_how) == ("caregiver", "phone")
        assert notice.recorded_by == f"user:{worker.id}@{worker.organization_id}"
    case_page = api.get(f"/console/cases/{request['case_id']}")
    assert "Informing the person" in case_page.text and "Informed" in case_page.text
    assert "Legal basis: Vital interest" in case_page.text
    french = api.get(f"/console/person-notices/{notice_id}?lang=fr")
    assert "Un parent ou tuteur·rice" in french.text and "Par téléphone" in french.text


def test_a_consent_officer_sees_the_list_but_a_case_worker_records(
    world: World, api: TestClient
) -> None:
    maker = person(world.runtime, world.sender.organization_id, "case_worker")
    request = released(world, maker.id)
    officer = person(world.runtime, world.sender.organization_id, "consent_officer")
    sign_in(api, officer)
    assert 'People to inform <span class="count">(1)</span>' in api.get("/console").text
    page = api.get(f"/console/person-notices/{request['notice_id']}")
    assert page.status_code == 200
    assert (
        "A case worker of your office records it" in page.text
        and 'name="told_whom"' not in page.text
    )
    refused = api.post(
        f"/console/person-notices/{request['notice_id']}/told",
        data={"csrf_token": csrf_of(page.text), "told_whom": "subject", "told_how": "in_person"},
    )
    assert refused.status_code == 403


def test_another_organisations_notice_is_not_found(world: World, api: TestClient) -> None:
    maker = person(world.runtime, world.sender.organization_id, "case_worker")
    request = released(world, maker.id)
    # a case worker of the recipient: it received the data, but owes no news
    sign_in(api, person(world.runtime, world.recipient.organization_id, "case_worker"), enrol=False)
    home = api.get("/console")
    assert 'People to inform <span class="count">(0)</span>' in home.text
    assert request["notice_id"] not in api.get("/console/person-notices").text
    page = api.get(f"/console/person-notices/{request['notice_id']}")
    assert page.status_code == 404 and "Page not found" in page.text
    posted = api.post(
        f"/console/person-notices/{request['notice_id']}/told",
        data={"csrf_token": csrf_of(home.text), "told_whom": "subject", "told_how": "in_person"},
    )
    assert posted.status_code == 404


def test_the_reminder_names_the_person_to_inform(
    world: World, worker: Person, api: TestClient
) -> None:
    request = released(world, worker.id)
    report = notices.remind(world.runtime, now=utcnow() + timedelta(days=3))
    assert report.reminded == [request["notice_id"]]
    outbox_drain.drain(world.runtime)
    page = api.get("/console/notifications")
    assert (
        "A person whose data was shared without their consent is still to be informed" in page.text
    )
    assert f'href="/console/person-notices/{request["notice_id"]}"' in page.text
    assert "Informing the person" in page.text
    french = api.get("/console/notifications?lang=fr")
    assert "n'a pas encore été informée" in french.text


def test_the_statement_names_the_legal_basis(world: World, worker: Person, api: TestClient) -> None:
    request = released(world, worker.id)
    page = api.get(f"/console/cases/{request['case_id']}/statement")
    assert page.status_code == 200
    assert "Legal basis: vital interest" in page.text
    assert "Shared without your consent" in page.text
    assert "No consent recorded" not in page.text
    french = api.get(f"/console/cases/{request['case_id']}/statement", params={"lang": "fr"})
    assert "Base légale : intérêt vital" in french.text
    assert "Communiquées sans votre consentement" in french.text
    pdf = api.get(f"/console/cases/{request['case_id']}/statement.pdf", params={"lang": "fr"})
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Base légale : intérêt vital" in text


def test_the_officers_are_told_of_a_request_without_consent_at_once(
    world: World, api: TestClient
) -> None:
    officer = person(world.runtime, world.sender.organization_id, "consent_officer")
    request = basis_request(world)
    outbox_drain.drain(world.runtime)
    sign_in(api, officer)
    page = api.get("/console/notifications")
    assert (
        "A request to share data without the person's consent waits for two consent officers"
        in page.text
    )
    assert f'href="/console/reviews/{request["review_id"]}"' in page.text
    french = api.get("/console/notifications?lang=fr")
    assert "attend deux responsables des consentements" in french.text
