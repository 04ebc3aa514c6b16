"""The case worker's consent screens: record a consent with every field of the record (and its
scanned form), its page (the record in words, its versions, the form to view or download),
and its withdrawal — what it will do, shown before confirming, then done by the API's service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.clock import utcnow
from hub.consent.models import Consent
from hub.referrals.models import Referral
from hub.transfers.models import Transfer
from tests.support import factories
from tests.support.outbox_drain import drain
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import World
from tests.support.transfer_world import plan

CAREGIVER = "Haoua Testeuse"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _actor(who: Person) -> str:
    return f"user:{who.id}@{who.organization_id}"


@pytest.fixture
def worker(world: World, api: TestClient) -> Person:
    who = person(world.runtime, world.sender.organization_id, "case_worker")
    sign_in(api, who, enrol=False)
    return who


def _form(api: TestClient, case_id: str, **fields: Any) -> dict[str, Any]:
    page = api.get(f"/console/cases/{case_id}/consents/new")
    assert page.status_code == 200, page.text
    today = utcnow().date()
    base: dict[str, Any] = {
        "csrf_token": csrf_of(page.text),
        "given_by": "caregiver",
        "caregiver_name": CAREGIVER,
        "caregiver_relationship": "mother",
        "child_assent": "yes",
        "method": "verbal",
        "witness": "Staff 0042",
        "language": "ha",
        "interpreter": "Issa the interpreter",
        "given_on": today.isoformat(),
        "purposes": ["psychosocial_support", "case_transfer"],
        "categories": ["identity", "contact", "psychosocial"],
        "recipient_kinds": ["ngo"],
        "excluded_kinds": ["government"],
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def _record(
    api: TestClient, case_id: str, files: dict[str, Any] | None = None, **fields: Any
) -> httpx.Response:
    return api.post(
        f"/console/cases/{case_id}/consents",
        data=_form(api, case_id, **fields),
        files=files or {"evidence": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )


def _recorded_id(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("/console/consents/") and location.endswith("?recorded=1")
    return location.split("/")[-1].split("?")[0]


# -- the form ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Record a consent", "Who gave the consent", "Never to", 'capture="environment"']),
        (
            "fr",
            ["Enregistrer un consentement", "Qui a donné le consentement", "Destinataires exclus"],
        ),
    ],
)
def test_the_form_asks_every_field_in_sections(
    world: World, worker: Person, api: TestClient, lang: str, words: list[str]
) -> None:
    case_id = world.case()
    page = api.get(f"/console/cases/{case_id}/consents/new", params={"lang": lang})
    assert page.status_code == 200, page.text
    assert f'<html lang="{lang}"' in page.text
    for word in words:
        assert word in page.text
    for name in (
        "given_by",
        "caregiver_name",
        "caregiver_relationship",
        "child_assent",
        "method",
        "witness",
        "language",
        "interpreter",
        "given_on",
        "purposes",
        "categories",
        "recipient_kinds",
        "recipient_organizations",
        "excluded_kinds",
        "excluded_organizations",
        "valid_from",
        "valid_until",
        "evidence",
    ):
        assert f'name="{name}"' in page.text, name
    assert 'accept="image/*,application/pdf"' in page.text
    assert page.text.count('<fieldset class="form-section">') == 7
    # the case's page leads here
    case_page = api.get(f"/console/cases/{case_id}")
    assert f'href="/console/cases/{case_id}/consents/new"' in case_page.text


def test_recording_makes_the_apis_consent_with_every_field(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    consent_id = _recorded_id(
        _record(
            api,
            case_id,
            recipient_organizations=[world.recipient.organization_id],
            excluded_organizations=[world.outsider.organization_id],
        )
    )
    stored = api.get(f"/v1/consents/{consent_id}", headers=world.sender.headers)
    assert stored.status_code == 200, stored.text
    body = stored.json()
    today = utcnow().date()
    assert body["case_id"] == case_id and body["version"] == 1 and body["status"] == "active"
    assert body["given_by"] == "caregiver"
    assert body["caregiver"] == {"name": CAREGIVER, "relationship": "mother"}
    assert body["child_assent"] is True
    assert (body["method"], body["witness"]) == ("verbal", "Staff 0042")
    assert (body["language"], body["interpreter"]) == ("ha", "Issa the interpreter")
    assert body["purposes"] == ["psychosocial_support", "case_transfer"]
    assert body["categories"] == ["identity", "contact", "psychosocial"]
    assert body["recipients"] == {
        "organizations": [world.recipient.organization_id],
        "kinds": ["ngo"],
    }
    assert body["exclusions"] == {
        "organizations": [world.outsider.organization_id],
        "kinds": ["government"],
    }
    assert body["valid_from"].startswith(today.isoformat())
    assert body["valid_until"].startswith((today + timedelta(days=365)).isoformat())
    assert body["given_at"].startswith(today.isoformat())
    assert body["recorded_by"] == _actor(worker)
    assert body["evidence"] is None

    # its page, in plain words: no codes
    page = api.get(f"/console/consents/{consent_id}?recorded=1")
    assert page.status_code == 200
    assert "Consent recorded" in page.text
    assert CAREGIVER in page.text and "Hausa" in page.text and "Government service" in page.text
    assert "Psychosocial support" in page.text and "Partner NGO" in page.text
    assert "Another NGO" in page.text  # excluded, by name
    assert CAREGIVER not in page.text.split("<title>")[1].split("</title>")[0]
    assert "No scanned form attached." in page.text
    assert "First version" in page.text


def test_a_mistake_shows_the_form_again_with_the_message_beside_the_field(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    answer = _record(api, case_id, caregiver_name="", purposes=None, valid_until="2020-01-01")
    assert answer.status_code == 400
    # the form's own check first (a purpose), then nothing recorded
    assert 'href="#purposes-psychosocial_support"' in answer.text
    assert "Choose at least one purpose." in answer.text
    assert 'value="Issa the interpreter"' in answer.text  # what was typed is kept
    # with the purposes back: the service's own rules, beside their fields
    answer = _record(api, case_id, caregiver_name="", caregiver_relationship="")
    assert answer.status_code == 400
    assert 'href="#caregiver_name"' in answer.text
    assert 'id="caregiver_name-error"' in answer.text
    assert "Enter the caregiver" in answer.text
    answer = _record(api, case_id, valid_until="2020-01-01")
    assert answer.status_code == 400 and "The end date must be after the start date." in answer.text
    answer = _record(api, case_id, recipient_kinds=None)
    assert answer.status_code == 400 and 'href="#recipient_kinds-iom_office"' in answer.text
    answer = _record(api, case_id, given_by="subject")  # a caregiver named for the person
    assert answer.status_code == 400 and "leave the caregiver" in answer.text
    french = api.post(
        f"/console/cases/{case_id}/consents?lang=fr",
        data=_form(api, case_id, method=None),
        files={"evidence": ("", b"", "application/octet-stream")},
    )
    assert french.status_code == 400 and "Choisissez comment le consentement" in french.text
    with world.runtime.sessions() as db:
        assert db.scalars(select(Consent).where(Consent.case_id == case_id)).all() == []


def test_another_offices_case_or_consent_is_not_found(
    world: World, worker: Person, api: TestClient
) -> None:
    theirs = world.api.post(
        "/v1/cases",
        json={
            "external_ref": "NGO-OTHER-7",
            "subject": {"birth_date": "1990-01-01", "sex": "male"},
        },
        headers=world.outsider.headers,
    ).json()["id"]
    their_consent = world.api.post(
        f"/v1/cases/{theirs}/consents",
        json={
            "given_by": "subject",
            "method": "written",
            "language": "fr",
            "purposes": ["psychosocial_support"],
            "recipients": {"kinds": ["ngo"]},
            "categories": ["identity"],
            "valid_from": utcnow().isoformat(),
        },
        headers=world.outsider.headers,
    ).json()["id"]
    for path in (
        f"/console/cases/{theirs}/consents/new",
        f"/console/consents/{their_consent}",
        f"/console/consents/{their_consent}/withdraw",
        f"/console/consents/{their_consent}/evidence",
        f"/console/consents/{their_consent}/evidence/file",
    ):
        answer = api.get(path)
        assert answer.status_code == 404, path
        assert "not yours to see" in answer.text
    own = world.case()
    # nor may their consent be replaced from one of the office's cases
    other_case = api.get(f"/console/cases/{own}/consents/new", params={"supersedes": their_consent})
    assert other_case.status_code == 404
    csrf = csrf_of(api.get(f"/console/cases/{own}/consents/new").text)
    refused = api.post(
        f"/console/consents/{their_consent}/withdraw", data={"csrf_token": csrf, "method": "verbal"}
    )
    assert refused.status_code == 404
    assert (
        world.api.get(f"/v1/consents/{their_consent}", headers=world.outsider.headers).json()[
            "withdrawal"
        ]
        is None
    )


# -- the scanned form ----------------------------------------------------------------------------
def test_the_scanned_form_is_stored_with_the_consent_and_can_be_read_back(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    consent_id = _recorded_id(
        _record(api, case_id, files={"evidence": ("consent.pdf", PDF, "application/pdf")})
    )
    # the API's evidence route gives back the very bytes
    through_api = api.get(f"/v1/consents/{consent_id}/evidence", headers=world.sender.headers)
    assert through_api.status_code == 200 and through_api.content == PDF
    page = api.get(f"/console/consents/{consent_id}")
    assert "A scanned form is attached (PDF" in page.text
    frame = api.get(f"/console/consents/{consent_id}/evidence")
    assert frame.status_code == 200 and "<iframe" in frame.text
    inline = api.get(f"/console/consents/{consent_id}/evidence/file")
    assert inline.status_code == 200 and inline.content == PDF
    assert inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"] == "inline"
    assert "frame-ancestors 'self'" in inline.headers["content-security-policy"]
    download = api.get(f"/console/consents/{consent_id}/evidence/file?download=1")
    assert download.content == PDF and download.headers["content-disposition"] == "attachment"
    assert "frame-ancestors 'none'" in download.headers["content-security-policy"]
    with world.runtime.sessions() as db:
        reads = db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "consent.evidence_read", AuditEntry.object_id == consent_id
            )
        ).all()
    assert len(reads) == 3  # the API's and the console's two: every read is audited
    assert all(r.actor == _actor(worker) for r in reads[1:])


def test_a_form_attached_afterwards_and_a_wrong_file_refused_in_words(
    world: World, worker: Person, api: TestClient
) -> None:
    case_id = world.case()
    # a text file with an image's name: nothing at all is recorded
    refused = _record(api, case_id, files={"evidence": ("photo.txt", b"hello", "text/plain")})
    assert refused.status_code == 400
    assert "The file must be a PDF, or a photo or scan in JPEG, PNG or TIFF." in refused.text
    assert 'href="#evidence"' in refused.text
    with world.runtime.sessions() as db:
        assert db.scalars(select(Consent).where(Consent.case_id == case_id)).all() == []
    # recorded without; attached from the consent's page
    consent_id = _recorded_id(_record(api, case_id))
    page = api.get(f"/console/consents/{consent_id}")
    csrf = csrf_of(page.text)
    lying = api.post(
        f"/console/consents/{consent_id}/evidence",
        data={"csrf_token": csrf},
        files={"evidence": ("scan.png", b"GIF89a not a png", "image/png")},
    )
    assert lying.status_code == 400 and "is not what its name says" in lying.text
    attached = api.post(
        f"/console/consents/{consent_id}/evidence",
        data={"csrf_token": csrf},
        files={"evidence": ("scan.png", PNG, "image/png")},
        follow_redirects=False,
    )
    assert attached.status_code == 303
    assert attached.headers["location"] == f"/console/consents/{consent_id}?attached=1"
    stored = api.get(f"/v1/consents/{consent_id}/evidence", headers=world.sender.headers)
    assert stored.content == PNG and stored.headers["content-type"] == "image/png"
    again = api.post(
        f"/console/consents/{consent_id}/evidence",
        data={"csrf_token": csrf},
        files={"evidence": ("other.pdf", PDF, "application/pdf")},
    )
    assert again.status_code == 400 and "already has its scanned form" in again.text
    # too large, told before the body is read
    huge = api.post(
        f"/console/consents/{consent_id}/evidence",
        data={"csrf_token": csrf},
        files={
            "evidence": (
                "big.pdf",
                b"%PDF-" + b"0" * (10 * 1024 * 1024 + 70 * 1024),
                "application/pdf",
            )
        },
    )
    assert huge.status_code == 413 and "The file is too large (10 MB at most)" in huge.text
    # no CSRF token, no upload
    forged = api.post(
        f"/console/consents/{consent_id}/evidence",
        files={"evidence": ("scan.png", PNG, "image/png")},
    )
    assert forged.status_code == 403


# -- versions ------------------------------------------------------------------------------------
def test_a_new_version_lists_what_changed(world: World, worker: Person, api: TestClient) -> None:
    case_id = world.case()
    first = _recorded_id(_record(api, case_id))
    form = api.get(f"/console/cases/{case_id}/consents/new", params={"supersedes": first})
    assert form.status_code == 200
    assert f'name="supersedes" value="{first}"' in form.text
    assert f'value="{CAREGIVER}"' in form.text  # the current answers filled in
    second = _recorded_id(
        _record(
            api, case_id, supersedes=first, categories=["identity", "contact"], witness="Staff 7"
        )
    )
    page = api.get(f"/console/consents/{second}")
    assert page.status_code == 200
    row = page.text.split("<tbody>")[1].split("</tr>")[0]  # the newest first
    assert "Witness" in row and "Data covered" in row and "Purposes" not in row
    old = api.get(f"/console/consents/{first}")
    assert "Superseded" in old.text and f'href="/console/consents/{second}"' in old.text
    assert "Withdraw the consent" not in old.text  # only the current version's page offers it


# -- withdrawal ----------------------------------------------------------------------------------
def _referred_and_transferred(world: World, api: TestClient) -> tuple[str, str, str, str]:
    """A consent recorded at the console, a referral (read by the recipient, then
    acknowledged), another one unanswered, and a transfer, all resting on it."""
    with world.runtime.sessions.begin() as db:
        factories.agreement(
            db,
            world.runtime.policy,
            world.sender.organization_id,
            world.recipient.organization_id,
            ["case_transfer"],
            ["identity", "contact", "psychosocial"],
        )
    case_id = world.case()
    consent_id = _recorded_id(
        _record(
            api,
            case_id,
            given_by="subject",
            caregiver_name="",
            caregiver_relationship="",
            method="written",
            child_assent="not_asked",
        )
    )
    answered = world.refer(case_id, note=None)
    unanswered = world.refer(case_id, note=None)
    assert answered.status_code == unanswered.status_code == 201, answered.text
    drain(world.runtime)
    assert world.get(answered.json()["id"], world.recipient).json()["payload"]
    assert world.act(answered.json()["id"], "acknowledge", world.recipient).status_code == 200
    transfer = world.api.post(
        "/v1/transfers",
        json={
            "case_id": case_id,
            "to_organization_id": world.recipient.organization_id,
            "plan": plan(),
        },
        headers=world.sender.headers,
    )
    assert transfer.status_code in (201, 202), transfer.text
    return consent_id, answered.json()["id"], unanswered.json()["id"], transfer.json()["id"]


def test_the_withdrawal_page_says_what_will_happen_and_changes_nothing(
    world: World, worker: Person, api: TestClient
) -> None:
    consent_id, answered, unanswered, transfer_id = _referred_and_transferred(world, api)
    page = api.get(f"/console/consents/{consent_id}/withdraw")
    assert page.status_code == 200, page.text
    text = page.text
    assert "1 referral will be cancelled" in text
    assert "1 referral already answered stays open" in text
    assert "1 case transfer will be cancelled" in text
    told = text.split("Who is told")[1]
    assert "Partner NGO" in told and "Another NGO" not in told
    # what the API's preview says, in words
    preview = api.get(
        f"/v1/consents/{consent_id}/withdrawal-preview", headers=world.sender.headers
    ).json()
    assert [r["id"] for r in preview["referrals"] if r["cancelled"]] == [unanswered]
    assert [r["id"] for r in preview["referrals"] if r["recipient_told"]] == [answered]
    assert [t["id"] for t in preview["transfers"]] == [transfer_id]
    french = api.get(f"/console/consents/{consent_id}/withdraw", params={"lang": "fr"})
    assert "1 orientation sera annulée" in french.text
    assert "Retirer le consentement" in french.text
    with world.runtime.sessions() as db:
        assert db.get_one(Referral, unanswered).status == "delivered"
        assert db.get_one(Transfer, transfer_id).status in ("sent", "pending_review")


def test_confirming_withdraws_through_the_service_and_the_cascade_cancels(
    world: World, worker: Person, api: TestClient
) -> None:
    consent_id, answered, unanswered, transfer_id = _referred_and_transferred(world, api)
    page = api.get(f"/console/consents/{consent_id}/withdraw")
    csrf = csrf_of(page.text)
    missing = api.post(
        f"/console/consents/{consent_id}/withdraw", data={"csrf_token": csrf, "reason": "moving"}
    )
    assert missing.status_code == 400
    assert 'href="#method-written"' in missing.text and "moving</textarea>" in missing.text
    done = api.post(
        f"/console/consents/{consent_id}/withdraw",
        data={"csrf_token": csrf, "method": "verbal", "reason": "She changed her mind."},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/consents/{consent_id}?withdrawn=1"
    body = api.get(f"/v1/consents/{consent_id}", headers=world.sender.headers).json()
    assert body["status"] == "withdrawn"
    assert body["withdrawal"]["method"] == "verbal"
    assert body["withdrawal"]["reason"] == "She changed her mind."
    assert body["withdrawal"]["recorded_by"] == _actor(worker)
    drain(world.runtime)
    with world.runtime.sessions() as db:
        assert (
            db.get_one(Referral, unanswered).status,
            db.get_one(Referral, unanswered).status_reason,
        ) == ("cancelled", "consent_withdrawn")
        assert db.get_one(Referral, answered).status == "acknowledged"
        assert db.get_one(Transfer, transfer_id).status == "cancelled"
    shown = api.get(done.headers["location"])
    assert "Consent withdrawn" in shown.text and "She changed her mind." in shown.text
    assert 'href="/console/consents/' + consent_id + '/withdraw"' not in shown.text
    # a second withdrawal is refused, as the API refuses it
    again = api.post(
        f"/console/consents/{consent_id}/withdraw", data={"csrf_token": csrf, "method": "verbal"}
    )
    assert again.status_code == 409 and "a withdrawal is final" in again.text
    assert api.get(f"/console/consents/{consent_id}/withdraw").status_code == 409


def test_a_consent_officer_reads_but_does_not_record_or_withdraw(
    world: World, api: TestClient
) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    officer = person(world.runtime, world.sender.organization_id, "consent_officer")
    sign_in(api, officer)
    assert api.get(f"/console/consents/{consent['id']}").status_code == 200
    assert api.get(f"/console/cases/{case_id}/consents/new").status_code == 403
    assert api.get(f"/console/consents/{consent['id']}/withdraw").status_code == 403
