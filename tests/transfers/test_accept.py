"""POST /v1/transfers/{id}/accept: ownership of the case, its consents and its history moves in
one transaction; an external transfer hands over only what the gate permits at acceptance and
erases the rest; refusals leave everything as it was."""

from __future__ import annotations

import hashlib
import json

import httpx
from sqlalchemy import select, update

from hub.audit.models import AuditEntry
from hub.cases.models import Case, CaseData
from hub.disclosures import service as disclosures
from hub.disclosures.models import Disclosure
from hub.organizations.models import DataSharingAgreement
from hub.transfers.models import Transfer
from tests.support.api import Partner
from tests.support.transfer_world import CANARY_NAME, CONSENTED, World

RELEASED = ["contact", "identity", "psychosocial"]


def _case(world: World, case_id: str, who: Partner) -> httpx.Response:
    return world.api.get(f"/v1/cases/{case_id}", headers=who.headers)


def _disclosures(world: World, transfer_id: str) -> list[Disclosure]:
    with world.runtime.sessions() as db:
        query = select(Disclosure).where(Disclosure.transfer_id == transfer_id)
        return list(db.scalars(query))


def _actions(world: World) -> list[str]:
    with world.runtime.sessions() as db:
        return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_an_external_transfer_moves_the_case_with_only_what_consent_covers(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    transfer_id = world.propose(case_id).json()["id"]

    response = world.act(transfer_id, "accept", world.ngo)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed" and body["status_reason"] == "ownership_moved"
    assert body["released_categories"] == RELEASED
    assert body["allowed_actions"] == []
    assert CANARY_NAME not in response.text  # ids and codes only in a POST answer

    # the former owner no longer sees the case, nor its consents; the new owner does
    assert _case(world, case_id, world.sender).status_code == 404
    new = _case(world, case_id, world.ngo).json()
    assert new["owner_organization_id"] == world.ngo.organization_id
    # the withheld categories were erased, not handed over
    assert new["categories"] == RELEASED
    assert new["data"]["identity"]["given_name"] == CANARY_NAME
    assert new["subject"] == {"birth_date": "1990-04-02", "sex": "female"}
    with world.runtime.sessions() as db:
        held = set(db.scalars(select(CaseData.category).where(CaseData.case_id == case_id)))
        assert held == set(RELEASED)
    consents = world.api.get(f"/v1/cases/{case_id}/consents", headers=world.ngo.headers)
    assert [c["id"] for c in consents.json()["items"]] == [consent["id"]]
    gone = world.api.get(f"/v1/consents/{consent['id']}", headers=world.sender.headers)
    assert gone.status_code == 404

    # the release is accounted for, with the hash of exactly what was released
    [disclosure] = _disclosures(world, transfer_id)
    assert disclosure.channel == "transfer"
    assert disclosure.recipient_organization_id == world.ngo.organization_id
    assert disclosure.categories == RELEASED
    assert disclosure.consent_ids == [consent["id"]]
    released = {k: new["data"][k] for k in RELEASED}
    canonical = json.dumps(released, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # keyed with the case's hash key, not the bare SHA-256 of what was released
    assert disclosure.payload_sha256 != hashlib.sha256(canonical.encode()).hexdigest()
    with world.runtime.sessions() as db:
        assert disclosure.payload_sha256 == disclosures.payload_digest(
            db=db, keyring=world.runtime.keyring, case_id=case_id, payload=released
        )
    report = world.api.get(f"/v1/cases/{case_id}/disclosures", headers=world.ngo.headers).json()
    assert [(d["transfer_id"], d["channel"]) for d in report["items"]] == [
        (transfer_id, "transfer")
    ]

    # two events, and the whole story in the audit log
    steps = [(e["from_status"], e["to_status"]) for e in world.events(transfer_id, world.ngo)]
    assert steps == [(None, "sent"), ("sent", "accepted"), ("accepted", "completed")]
    actions = _actions(world)
    for action in (
        "transfer.accept",
        "transfer.withheld_erased",
        "transfer.complete",
        "case.ownership_moved",
        "disclosure",
    ):
        assert action in actions
    # both parties keep the transfer's history
    read = world.get(transfer_id, world.sender).json()
    assert read["released_categories"] == RELEASED
    assert read["withheld_categories"] == ["health", "legal_status"]
    assert world.get(transfer_id, world.ngo).json()["status"] == "completed"
    # the new owner can now transfer the case on; the former owner cannot
    assert world.propose(case_id, world.sender, who=world.outsider).status_code == 404
    assert world.propose(case_id, world.outsider, who=world.sender).status_code == 404


def test_within_the_hierarchy_the_whole_case_moves(world: World) -> None:
    transfer_id, case_id = world.sent(world.country)
    response = world.act(transfer_id, "accept", world.country)
    assert response.status_code == 200, response.text
    assert response.json()["released_categories"] == [
        "contact",
        "health",
        "identity",
        "legal_status",
        "psychosocial",
    ]
    assert _case(world, case_id, world.sender).status_code == 404
    case = _case(world, case_id, world.country).json()
    assert len(case["data"]) == 5
    [disclosure] = _disclosures(world, transfer_id)
    assert disclosure.consent_ids == [] and disclosure.decision_id is None


def test_acceptance_is_one_transaction(world: World) -> None:
    """A failure late in acceptance (the recipient already holds a case under the same
    reference) leaves nothing behind: no erasure, no event, no disclosure, no move."""
    ref = "MRRM-NE-SHARED-REF"
    case_id = world.case(external_ref=ref)
    world.consent(case_id)
    transfer_id = world.propose(case_id).json()["id"]
    own = {
        "external_ref": ref,
        "subject": {"birth_date": "1985-01-01", "sex": "male"},
        "data": {},
    }
    assert world.api.post("/v1/cases", json=own, headers=world.ngo.headers).status_code == 201

    response = world.act(transfer_id, "accept", world.ngo)
    assert (response.status_code, response.json()["code"]) == (409, "duplicate_external_ref")
    with world.runtime.sessions() as db:
        assert db.get_one(Transfer, transfer_id).status == "sent"
        assert db.get_one(Case, case_id).owner_organization_id == world.sender.organization_id
        held = set(db.scalars(select(CaseData.category).where(CaseData.case_id == case_id)))
        assert len(held) == 5
    assert _disclosures(world, transfer_id) == []
    assert len(world.events(transfer_id, world.sender)) == 1
    assert "case.ownership_moved" not in _actions(world)
    assert len(_case(world, case_id, world.sender).json()["data"]) == 5


def test_a_consent_withdrawn_before_acceptance_cancels_the_transfer(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    transfer_id = world.propose(case_id).json()["id"]
    world.withdraw(consent["id"])  # the cascade has not run yet (no outbox drain)

    response = world.act(transfer_id, "accept", world.ngo)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "consent_denied" and body["transfer_status"] == "cancelled"
    assert "consent_withdrawn" in {r["code"] for r in body["reasons"]}
    # committed all the same: the transfer is cancelled, the case untouched
    read = world.get(transfer_id, world.sender).json()
    assert (read["status"], read["status_reason"]) == ("cancelled", "consent_withdrawn")
    assert len(_case(world, case_id, world.sender).json()["data"]) == 5
    assert _disclosures(world, transfer_id) == []
    assert "transfer.acceptance_refused" in _actions(world)


def test_the_gate_asked_at_acceptance_can_refuse(world: World) -> None:
    transfer_id, case_id = world.sent()
    with world.runtime.sessions.begin() as db:
        db.execute(update(DataSharingAgreement).values(revoked_at=DataSharingAgreement.valid_from))
    response = world.act(transfer_id, "accept", world.ngo)
    assert (response.status_code, response.json()["code"]) == (422, "consent_denied")
    assert response.json()["transfer_status"] == "sent"
    assert "no_agreement" in {r["code"] for r in response.json()["reasons"]}
    # still open: nothing moved, and it can be accepted once an agreement is in force again
    assert world.get(transfer_id, world.ngo).json()["status"] == "sent"
    assert _case(world, case_id, world.sender).status_code == 200


def test_what_the_gate_withheld_stays_withheld(world: World) -> None:
    """Acceptance asks the gate again, and hands over at most what the transfer was sent with:
    a consent broadened since, or data added since, does not widen it."""
    transfer_id, case_id = world.sent()
    # a consent now also covering a sensitive category: the gate wants a review first
    broader = world.consent(case_id, categories=[*CONSENTED, "legal_status"])
    held = world.act(transfer_id, "accept", world.ngo)
    assert (held.status_code, held.json()["code"]) == (409, "review_required")
    assert "sensitive_category" in {r["code"] for r in held.json()["reasons"]}
    assert world.get(transfer_id, world.ngo).json()["status"] == "sent"
    world.withdraw(broader["id"])
    # data the plan never mentioned, with a consent covering it
    world.consent(case_id, categories=[*CONSENTED, "household"])
    patched = world.api.patch(
        f"/v1/cases/{case_id}",
        json={"data": {"household": {"size": 4}}},
        headers=world.sender.headers,
    )
    assert patched.status_code == 200, patched.text

    response = world.act(transfer_id, "accept", world.ngo)
    assert response.status_code == 200, response.text
    assert response.json()["released_categories"] == RELEASED
    case = _case(world, case_id, world.ngo).json()
    assert case["categories"] == RELEASED
