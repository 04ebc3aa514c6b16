"""A case's own life through the API: close (a coded reason, what becomes of each open
request), reopen, the history and the audit, the list's status filter, and a closed case
refusing new referrals and transfers (409 `case_closed`)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.referrals.models import Referral
from hub.runtime import Runtime
from hub.transfers.models import Transfer
from tests.support import referral_scenarios as referrals
from tests.support import transfer_scenarios as transfers
from tests.support.api import Partner, client_for, partner

CASE = {
    "external_ref": "MRRM-NE-2026-0101",
    "subject": {"birth_date": "1994-05-02", "sex": "female"},
    "data": {"identity": {"given_name": "Canary", "family_name": "Closure"}},
}


def _case(api: TestClient, owner: Partner, ref: str = "MRRM-NE-2026-0101") -> str:
    created = api.post("/v1/cases", json=dict(CASE, external_ref=ref), headers=owner.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _close(api: TestClient, who: Partner, case_id: str, body: Any) -> Any:
    return api.post(f"/v1/cases/{case_id}/close", json=body, headers=who.headers)


def _audit(runtime: Runtime, case_id: str) -> list[AuditEntry]:
    with runtime.sessions.begin() as db:
        rows = db.scalars(
            select(AuditEntry).where(AuditEntry.object_id == case_id).order_by(AuditEntry.seq)
        ).all()
        db.expunge_all()
        return list(rows)


def test_close_and_reopen(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    case_id = _case(api, iom)
    assert api.get(f"/v1/cases/{case_id}", headers=iom.headers).json()["status"] == "open"

    missing = _close(api, iom, case_id, {"note": "done"})
    assert (missing.status_code, missing.json()["code"]) == (422, "reason_required")
    unknown = _close(api, iom, case_id, {"reason": "bored"})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_value")
    assert unknown.json()["allowed"] == list(runtime.policy.vocabularies.closure_reasons)
    nothing = api.post(f"/v1/cases/{case_id}/close", headers=iom.headers)
    assert (nothing.status_code, nothing.json()["code"]) == (422, "reason_required")

    closed = _close(api, iom, case_id, {"reason": "goals_met", "note": "Plan goals reached"})
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["closure_reason"]) == ("closed", "goals_met")
    again = _close(api, iom, case_id, {"reason": "other"})
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")

    # a closed case is still read in full by its owner
    read = api.get(f"/v1/cases/{case_id}", headers=iom.headers).json()
    assert read["status"] == "closed" and read["data"]["identity"]["family_name"] == "Closure"

    reopened = api.post(
        f"/v1/cases/{case_id}/reopen", json={"note": "She came back"}, headers=iom.headers
    )
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["status"], reopened.json()["closure_reason"]) == ("open", None)
    twice = api.post(f"/v1/cases/{case_id}/reopen", json={}, headers=iom.headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_transition")

    events = api.get(f"/v1/cases/{case_id}/events", headers=iom.headers).json()["items"]
    moves = [(e["from_status"], e["to_status"], e["reason_code"], e["text"]) for e in events]
    assert moves == [
        ("open", "closed", "goals_met", "Plan goals reached"),
        ("closed", "open", None, "She came back"),
    ]
    assert all(
        e["actor"] == iom.actor and e["organization_id"] == iom.organization_id for e in events
    )
    entries = [(e.action, e.details.get("reason_code")) for e in _audit(runtime, case_id)]
    assert ("case.close", "goals_met") in entries and ("case.reopen", None) in entries
    # the note is the person's data: sealed, never in the audit
    assert all("Plan goals" not in str(e.details) for e in _audit(runtime, case_id))


def test_the_list_filters_by_status(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    open_id = _case(api, iom, "REF-OPEN")
    closed_id = _case(api, iom, "REF-CLOSED")
    assert _close(api, iom, closed_id, {"reason": "person_moved"}).status_code == 200

    def listed(status: str) -> list[str]:
        page = api.get("/v1/cases", params={"status": status}, headers=iom.headers)
        assert page.status_code == 200, page.text
        return [item["id"] for item in page.json()["items"]]

    assert listed("open") == [open_id]
    assert listed("closed") == [closed_id]
    assert listed("erased") == []
    bad = api.get("/v1/cases", params={"status": "ended"}, headers=iom.headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")


def test_closing_asks_about_each_open_request(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    referral_id = referrals.sent_referral(runtime, api, iom, "CLOSE-1", owner_receives=False)
    with runtime.sessions.begin() as db:
        case_id = db.get_one(Referral, referral_id).case_id
    # and a transfer of the same case to a sub-office
    office = transfers.sub_office(runtime, iom.organization_id, "Arlit sub-office")
    made = api.post("/v1/transfers", json=transfers.body(case_id, office), headers=iom.headers)
    assert made.status_code == 201, made.text
    transfer_id = made.json()["id"]

    refused = _close(api, iom, case_id, {"reason": "goals_met"})
    assert (refused.status_code, refused.json()["code"]) == (409, "case_has_open_requests")
    assert sorted(refused.json()["open_requests"]) == sorted([referral_id, transfer_id])
    assert "Canary" not in refused.text  # ids only

    half = _close(api, iom, case_id, {"reason": "goals_met", "requests": {referral_id: "keep"}})
    assert (half.status_code, half.json()["open_requests"]) == (409, [transfer_id])
    wrong = _close(api, iom, case_id, {"reason": "goals_met", "requests": {referral_id: "drop"}})
    assert (wrong.status_code, wrong.json()["code"]) == (422, "validation_error")

    closed = _close(
        api,
        iom,
        case_id,
        {
            "reason": "transferred",
            "requests": {referral_id: "cancel", transfer_id: "keep"},
        },
    )
    assert closed.status_code == 200, closed.text
    with runtime.sessions.begin() as db:
        referral = db.get_one(Referral, referral_id)
        transfer = db.get_one(Transfer, transfer_id)
        # the sender's own cancel: its code, its history, the recipient told
        assert (referral.status, referral.status_reason) == ("cancelled", "cancelled_by_sender")
        assert transfer.status == "sent"
    history = api.get(f"/v1/referrals/{referral_id}/events", headers=iom.headers).json()
    assert history["items"][-1]["to_status"] == "cancelled"
    assert history["items"][-1]["actor"] == iom.actor
    kept = [e for e in _audit(runtime, case_id) if e.action == "case.close_requests"]
    assert kept[0].details == {"cancelled": [referral_id], "kept": [transfer_id]}


def test_a_refused_cancellation_leaves_the_case_open(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    transfer_id = transfers.sent_transfer(
        runtime, iom.organization_id, "CLOSE-2", owner_receives=False
    )
    with runtime.sessions.begin() as db:
        transfer = db.get_one(Transfer, transfer_id)
        case_id = transfer.case_id
        # a transfer caught between acceptance and completion: open, and no longer cancellable
        transfer.status = "accepted"
    refused = _close(api, iom, case_id, {"reason": "other", "requests": {transfer_id: "cancel"}})
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")
    assert api.get(f"/v1/cases/{case_id}", headers=iom.headers).json()["status"] == "open"


def test_a_closed_case_takes_no_new_request(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    ngo = referrals.new_org(runtime, "Partner NGO")
    case_id = referrals.referrable_case(runtime, iom.organization_id, ngo, "CLOSE-3")
    office = transfers.sub_office(runtime, iom.organization_id, "Arlit sub-office")
    assert _close(api, iom, case_id, {"reason": "unreachable"}).status_code == 200

    refer = referrals.body(case_id, ngo)
    for path, body in (
        ("/v1/referrals", refer),
        ("/v1/referrals", {**refer, "dry_run": True}),
        ("/v1/transfers", transfers.body(case_id, office)),
    ):
        answer = api.post(path, json=body, headers=iom.headers)
        assert (answer.status_code, answer.json()["code"]) == (409, "case_closed"), path
    with runtime.sessions.begin() as db:
        assert db.scalars(select(Referral).where(Referral.case_id == case_id)).all() == []

    assert api.post(f"/v1/cases/{case_id}/reopen", headers=iom.headers).status_code == 200
    sent = api.post("/v1/referrals", json=refer, headers=iom.headers)
    assert sent.status_code == 201, sent.text


def test_another_organisations_case_and_the_scopes(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    other = partner(runtime, api, "IOM Niamey", kind="iom_office")
    case_id = _case(api, iom)
    for call in (
        lambda who: _close(api, who, case_id, {"reason": "goals_met"}),
        lambda who: api.post(f"/v1/cases/{case_id}/reopen", json={}, headers=who.headers),
        lambda who: api.get(f"/v1/cases/{case_id}/events", headers=who.headers),
    ):
        foreign = call(other)
        assert (foreign.status_code, foreign.json()["code"]) == (404, "not_found")
    reader = client_for(runtime, api, iom.organization_id, "cases:read")
    weak = _close(api, reader, case_id, {"reason": "goals_met"})
    assert weak.status_code == 403
    assert api.get(f"/v1/cases/{case_id}/events", headers=reader.headers).status_code == 200
    assert api.get(f"/v1/cases/{case_id}", headers=iom.headers).json()["status"] == "open"


def test_an_erased_case_cannot_close(runtime: Runtime, api: TestClient) -> None:
    iom = partner(runtime, api, "IOM Agadez", kind="iom_office")
    case_id = _case(api, iom)
    assert api.delete(f"/v1/cases/{case_id}", headers=iom.headers).status_code == 204
    gone = _close(api, iom, case_id, {"reason": "death"})
    assert (gone.status_code, gone.json()["code"]) == (410, "case_erased")
