"""The recipient's read: the gate is asked again each time, what it permits is released and
accounted for, a withdrawal since is honoured."""

from __future__ import annotations

from sqlalchemy import func, select, update

from hub.audit.models import AuditEntry
from hub.consent.models import GateDecision
from hub.disclosures import service as disclosures
from hub.disclosures.models import Disclosure
from hub.organizations.models import DataSharingAgreement
from tests.support.outbox_drain import drain
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World


def _disclosures(world: World) -> list[Disclosure]:
    with world.runtime.sessions() as db:
        return list(db.scalars(select(Disclosure).order_by(Disclosure.at)))


def _read_decisions(world: World) -> list[GateDecision]:
    with world.runtime.sessions() as db:
        query = select(GateDecision).where(GateDecision.context == "read")
        return list(db.scalars(query.order_by(GateDecision.decided_at)))


def test_the_recipient_gets_the_permitted_payload_and_a_disclosure_is_recorded(
    world: World,
) -> None:
    referral_id = world.sent()
    response = world.get(referral_id, world.recipient)

    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(body["payload"]) == ["contact", "identity", "psychosocial"]
    assert body["payload"]["identity"]["given_name"] == CANARY_NAME
    assert body["note"] == CANARY_NOTE
    assert body["payload_withheld"] is None
    # what the sender asked for beyond the consent is not the recipient's to know
    assert body["withheld_categories"] is None and body["requested_categories"] is None
    assert body["allowed_actions"] == ["acknowledge", "decline"]

    [decision] = _read_decisions(world)
    assert decision.outcome == "permit"
    [disclosure] = _disclosures(world)
    assert disclosure.referral_id == referral_id
    assert disclosure.recipient_organization_id == world.recipient.organization_id
    assert disclosure.channel == "inbox"
    assert disclosure.categories == ["contact", "identity", "psychosocial"]
    assert disclosure.consent_ids == body["consent_ids"]
    assert disclosure.decision_id == decision.id
    with world.runtime.sessions() as db:
        # keyed with the case's hash key: checkable only while the case's data key lives
        assert disclosure.payload_sha256 == disclosures.payload_digest(
            db=db,
            keyring=world.runtime.keyring,
            case_id=disclosure.case_id,
            payload=body["payload"],
        )
        assert disclosure.payload_sha256 != disclosures.payload_sha256(body["payload"])
        entry = db.scalars(select(AuditEntry).where(AuditEntry.seq == disclosure.audit_seq)).one()
        assert (entry.action, entry.object_id) == ("disclosure", disclosure.id)
        assert entry.details["payload_sha256"] == disclosure.payload_sha256
        assert CANARY_NAME not in str(entry.details)

    # each read is a disclosure of its own
    world.get(referral_id, world.recipient)
    assert len(_disclosures(world)) == 2


def test_the_sender_sees_its_request_but_no_payload(world: World) -> None:
    referral_id = world.sent()
    body = world.get(referral_id, world.sender).json()
    assert body["payload"] is None and body["payload_withheld"] is None
    assert body["note"] == CANARY_NOTE
    assert body["withheld_categories"] == ["legal_status"]
    assert "legal_status" in body["requested_categories"]
    assert body["allowed_actions"] == ["cancel"]
    assert _disclosures(world) == [] and _read_decisions(world) == []


def test_others_get_404(world: World) -> None:
    referral_id = world.sent()
    response = world.get(referral_id, world.outsider)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert _disclosures(world) == []


def test_reading_without_the_payload_discloses_nothing(world: World) -> None:
    referral_id = world.sent()
    body = world.get(referral_id, world.recipient, payload="false").json()
    assert body["payload"] is None and body["note"] is None
    assert _disclosures(world) == [] and _read_decisions(world) == []


def test_payload_is_limited_to_what_is_still_permitted(world: World) -> None:
    """A new version of the consent covers less: only what it still covers leaves."""
    case_id = world.case()
    consent = world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]
    narrower = world.consent(case_id, categories=["identity"], supersedes=consent["id"])

    body = world.get(referral_id, world.recipient).json()
    assert list(body["payload"]) == ["identity"]
    [disclosure] = _disclosures(world)
    assert (disclosure.categories, disclosure.consent_ids) == (["identity"], [narrower["id"]])


def test_an_agreement_narrowed_since_holds_the_payload(world: World) -> None:
    referral_id = world.sent()
    with world.runtime.sessions.begin() as db:
        db.execute(update(DataSharingAgreement).values(categories=["identity", "contact"]))
    body = world.get(referral_id, world.recipient).json()
    # the agreement no longer covers psychosocial: held for review, not released
    assert body["payload"] is None
    assert body["payload_withheld"][0]["code"] == "review_required"
    assert _disclosures(world) == []


def test_a_withdrawal_since_cancels_instead(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]
    world.withdraw(consent["id"])  # the cascade has not run yet: the read honours it itself

    body = world.get(referral_id, world.recipient).json()
    assert body["payload"] is None and body["note"] is None
    assert body["payload_withheld"] == [{"code": "consent_withdrawn"}]
    assert (body["status"], body["status_reason"]) == ("cancelled", "consent_withdrawn")
    assert _disclosures(world) == []
    # committed although it was a GET
    assert world.get(referral_id, world.sender).json()["status"] == "cancelled"
    events = world.api.get(f"/v1/referrals/{referral_id}/events", headers=world.sender.headers)
    last = events.json()["items"][-1]
    assert (last["to_status"], last["reason_code"], last["actor"]) == (
        "cancelled",
        "consent_withdrawn",
        "system:hub",
    )


def test_a_withdrawal_after_acknowledgement_stops_the_data_not_the_referral(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]
    assert world.act(referral_id, "acknowledge", world.recipient).status_code == 200
    world.withdraw(consent["id"])
    body = world.get(referral_id, world.recipient).json()
    assert body["payload"] is None
    assert body["status"] == "acknowledged"
    assert body["payload_withheld"][0]["code"] == "consent_withdrawn"


def test_a_closed_referral_carries_no_payload(world: World) -> None:
    referral_id = world.sent()
    world.act(referral_id, "decline", world.recipient, {"reason": "full"})
    body = world.get(referral_id, world.recipient).json()
    assert body["payload"] is None
    assert body["payload_withheld"] == [{"code": "referral_closed"}]
    assert _read_decisions(world) == []


def test_an_approved_review_covers_the_reads_it_approved(world: World) -> None:
    """Health is sensitive: the gate says review at every read; the approval covers it."""
    case_id = world.case()
    world.consent(case_id, categories=["identity", "health"])
    held = world.refer(case_id, categories=["identity", "health"]).json()
    approve = world.api.post(
        f"/v1/reviews/{held['review_id']}/approve",
        json={"justification": "needed for the asthma follow-up"},
        headers=world.officer.headers,
    )
    assert approve.status_code == 200, approve.text
    drain(world.runtime)

    body = world.get(held["id"], world.recipient).json()
    assert body["status"] == "delivered"
    assert sorted(body["payload"]) == ["health", "identity"]
    [disclosure] = _disclosures(world)
    assert disclosure.categories == ["health", "identity"]
    assert [d.outcome for d in _read_decisions(world)] == ["review"]


def test_an_erased_case_releases_nothing(world: World) -> None:
    referral_id = world.sent()
    case_id = world.get(referral_id, world.sender).json()["case_id"]
    assert world.api.delete(f"/v1/cases/{case_id}", headers=world.sender.headers).status_code == 204
    body = world.get(referral_id, world.recipient).json()
    assert body["payload"] is None
    assert body["payload_withheld"][0]["code"] == "consent_denied"
    assert "case_erased" in body["payload_withheld"][0]["codes"]
    # the sender's note went with the case's key
    assert world.get(referral_id, world.sender).json()["note"] is None
    with world.runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Disclosure)) == 0
