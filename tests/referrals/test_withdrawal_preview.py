"""What a consent's withdrawal would do, before it is done (`GET /v1/consents/{id}/
withdrawal-preview`): the referrals and transfers it cancels and the recipients told, by the
very rule the withdrawal's listeners then follow — checked against what the withdrawal did."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.referrals.models import Referral, WithdrawalNotice
from hub.transfers.models import Transfer
from tests.support import factories
from tests.support.api import partner
from tests.support.outbox_drain import drain
from tests.support.referral_world import World
from tests.support.transfer_world import plan


def _preview(world: World, consent_id: str, headers: dict[str, str] | None = None) -> Any:
    return world.api.get(
        f"/v1/consents/{consent_id}/withdrawal-preview", headers=headers or world.sender.headers
    )


def _transfer_agreed(world: World) -> None:
    with world.runtime.sessions.begin() as db:
        factories.agreement(
            db,
            world.runtime.policy,
            world.sender.organization_id,
            world.recipient.organization_id,
            ["case_transfer"],
            ["identity", "contact", "psychosocial"],
        )


def test_the_preview_is_what_the_withdrawal_then_does(world: World) -> None:
    _transfer_agreed(world)
    case_id = world.case()
    consent = world.consent(case_id, purposes=["psychosocial_support", "case_transfer"])
    other = world.consent(case_id, purposes=["shelter"])  # another series, left alone

    def refer() -> str:
        response = world.refer(case_id)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    unread, read_then_acknowledged, acknowledged_unread = refer(), refer(), refer()
    drain(world.runtime)
    assert world.get(read_then_acknowledged, world.recipient).json()["payload"]
    for referral_id in (read_then_acknowledged, acknowledged_unread):
        assert world.act(referral_id, "acknowledge", world.recipient).status_code == 200
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
    transfer_id, transfer_status = transfer.json()["id"], transfer.json()["status"]
    elsewhere = world.sent()  # another case's referral

    answer = _preview(world, consent["id"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["consent_id"] == consent["id"] and body["series_id"] == consent["series_id"]
    by_id = {r["id"]: r for r in body["referrals"]}
    assert set(by_id) == {unread, read_then_acknowledged}  # the third: nothing happens to it
    assert by_id[unread] == {
        "id": unread,
        "to_organization_id": world.recipient.organization_id,
        "status": "delivered",
        "cancelled": True,
        "recipient_told": False,
    }
    assert by_id[read_then_acknowledged]["cancelled"] is False
    assert by_id[read_then_acknowledged]["recipient_told"] is True
    assert body["transfers"] == [
        {
            "id": transfer_id,
            "to_organization_id": world.recipient.organization_id,
            "status": transfer_status,
            "cancelled": True,
            "recipient_told": False,
        }
    ]
    assert body["recipients_told"] == [world.recipient.organization_id]
    # the other series would change nothing
    assert _preview(world, other["id"]).json() | {"consent_id": "", "series_id": ""} == {
        "consent_id": "",
        "series_id": "",
        "referrals": [],
        "transfers": [],
        "recipients_told": [],
    }

    # a preview changes nothing; the withdrawal then does exactly what it said
    drain(world.runtime)
    world.withdraw(consent["id"])
    drain(world.runtime)
    with world.runtime.sessions() as db:
        cancelled = set(
            db.scalars(select(Referral.id).where(Referral.status_reason == "consent_withdrawn"))
        )
        told = {n.recipient_organization_id for n in db.scalars(select(WithdrawalNotice))}
        noticed = {n.referral_id for n in db.scalars(select(WithdrawalNotice))}
        transfers_cancelled = set(
            db.scalars(select(Transfer.id).where(Transfer.status_reason == "consent_withdrawn"))
        )
        assert db.get_one(Referral, elsewhere).status == "delivered"
    assert cancelled == {r["id"] for r in body["referrals"] if r["cancelled"]}
    assert noticed == {r["id"] for r in body["referrals"] if r["recipient_told"]}
    assert told == set(body["recipients_told"])
    assert transfers_cancelled == {transfer_id}

    # withdrawn: nothing more to preview, as withdrawing again is refused
    again = _preview(world, consent["id"])
    assert again.status_code == 409 and again.json()["code"] == "consent_withdrawn"


def test_another_organisations_consent_is_not_found(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    assert _preview(world, consent["id"], world.outsider.headers).status_code == 404
    assert _preview(world, "nosuchconsent").status_code == 404


def test_the_preview_needs_consents_read(world: World) -> None:
    case_id = world.case()
    consent = world.consent(case_id)
    narrow = partner(world.runtime, world.api, "IOM reader", scope="cases:read")
    # another organisation, and without the scope: refused for the scope before any lookup
    answer = _preview(world, consent["id"], narrow.headers)
    assert answer.status_code == 403, answer.text
