"""The recipient's GET /v1/transfers/{id} asks the consent gate, as the push of the same offer
does (`hub.transfers.reading`), and each read that carries the plan is accounted for."""

from __future__ import annotations

from sqlalchemy import select

from hub.consent.models import Consent, ConsentWithdrawal, GateDecision
from hub.disclosures.models import Disclosure
from tests.support.transfer_world import CANARY_CONTACT, CANARY_PLAN, World, plan


def _disclosures(world: World) -> list[Disclosure]:
    with world.runtime.sessions() as db:
        return list(db.scalars(select(Disclosure).order_by(Disclosure.at)))


def _read_decisions(world: World) -> list[GateDecision]:
    with world.runtime.sessions() as db:
        query = select(GateDecision).where(GateDecision.context == "read")
        return list(db.scalars(query.order_by(GateDecision.decided_at)))


def _expire(world: World, consent_id: str) -> None:
    with world.runtime.sessions.begin() as db:
        row = db.get_one(Consent, consent_id)
        row.valid_until = row.valid_from


def test_each_read_of_the_offer_asks_the_gate_and_is_accounted_for(world: World) -> None:
    transfer_id, case_id = world.sent()
    for _ in range(2):
        body = world.get(transfer_id, world.ngo).json()
        assert body["plan"] == plan() and body["case"]["case_id"] == case_id
        assert body["plan_withheld"] is None
    decisions = _read_decisions(world)
    assert [d.outcome for d in decisions] == ["permit", "permit"]
    rows = _disclosures(world)
    assert len(rows) == 2
    for row, decision in zip(rows, decisions, strict=True):
        assert (row.channel, row.transfer_id, row.categories) == ("inbox", transfer_id, [])
        assert row.recipient_organization_id == world.ngo.organization_id
        assert row.decision_id == decision.id and row.consent_ids == decision.consent_ids
    # the sender reads its own plan: no gate, nothing disclosed
    assert world.get(transfer_id, world.sender).json()["plan"] == plan()
    assert len(_disclosures(world)) == 2 and len(_read_decisions(world)) == 2


def test_an_expired_consent_withholds_the_plan_and_the_summary(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    response = world.propose(case_id)
    assert response.status_code == 201, response.text
    transfer_id = response.json()["id"]
    _expire(world, consent["id"])

    response = world.get(transfer_id, world.ngo)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "sent"  # a read does not cancel it: the sender decides
    assert body["plan"] is None and body["case"] is None
    assert CANARY_PLAN not in response.text and CANARY_CONTACT not in response.text
    [withheld] = body["plan_withheld"]
    [decision] = _read_decisions(world)
    assert withheld["code"] == "consent_denied" and withheld["decision_id"] == decision.id
    assert decision.outcome == "deny" and withheld["codes"]
    assert _disclosures(world) == []
    # the acceptance is refused for the same reason
    assert world.act(transfer_id, "accept", world.ngo).status_code == 422


def test_a_withdrawal_since_cancels_the_transfer_at_the_read(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    transfer_id = world.propose(case_id).json()["id"]
    with world.runtime.sessions.begin() as db:
        # as if the withdrawal's cascade had not reached the transfer yet
        row = db.get_one(Consent, consent["id"])
        db.add(
            ConsentWithdrawal(
                series_id=row.series_id,
                consent_id=row.id,
                case_id=case_id,
                recorded_by="test",
                method="verbal",
            )
        )
    body = world.get(transfer_id, world.ngo).json()
    assert (body["status"], body["status_reason"]) == ("cancelled", "consent_withdrawn")
    assert body["plan"] is None and body["case"] is None
    assert body["plan_withheld"][0]["code"] == "consent_withdrawn"
    assert _disclosures(world) == []
    # closed now: nothing more is asked
    body = world.get(transfer_id, world.ngo).json()
    assert body["plan_withheld"] == [{"code": "transfer_closed"}]


def test_within_the_hierarchy_the_offer_is_read_without_the_gate_but_accounted_for(
    world: World,
) -> None:
    transfer_id, _ = world.sent(world.country)
    body = world.get(transfer_id, world.country).json()
    assert body["plan"] == plan() and body["plan_withheld"] is None
    assert _read_decisions(world) == []
    [row] = _disclosures(world)
    assert (row.channel, row.transfer_id, row.decision_id) == ("inbox", transfer_id, None)


def test_once_completed_the_new_owner_reads_without_a_disclosure(world: World) -> None:
    transfer_id, _ = world.sent()
    response = world.act(transfer_id, "accept", world.ngo)
    assert response.status_code == 200, response.text
    before = len(_disclosures(world))
    body = world.get(transfer_id, world.ngo).json()
    assert body["status"] == "completed" and body["plan"] == plan()
    assert len(_disclosures(world)) == before


def test_the_senders_words_in_events_follow_the_gate(world: World) -> None:
    words = "Canary: the family moved to Arlit"
    case_id = world.case()
    consent = world.consent(case_id)
    transfer_id = world.propose(case_id).json()["id"]
    response = world.act(transfer_id, "cancel", world.sender, {"reason": words})
    assert response.status_code == 200, response.text

    texts = [e["text"] for e in world.events(transfer_id, world.ngo) if e["text"]]
    assert texts == [words]
    [row] = _disclosures(world)
    assert (row.channel, row.transfer_id, row.categories) == ("inbox", transfer_id, [])
    assert row.decision_id is not None

    world.withdraw(consent["id"])
    events = world.events(transfer_id, world.ngo)
    assert words not in str(events) and events[-1]["reason_code"] == "cancelled_by_sender"
    assert len(_disclosures(world)) == 1
    assert [e["text"] for e in world.events(transfer_id, world.sender) if e["text"]] == [words]
