"""Case transfers for the authorization matrix (tests/support/route_scenarios.py).

The matrix calls every route as `ctx.owner` and expects `ctx.other` to get 404, so each
transfer here is between `ctx.owner` (an IOM office) and a fresh sub-office under it (one
hierarchy: no consent to set up): `ctx.owner` is the sender for the sender's routes and the
recipient for the recipient's. Built with the services in one transaction.
"""

from __future__ import annotations

import uuid
from datetime import date

from hub.cases import service as cases
from hub.cases.schemas import Subject
from hub.runtime import Runtime
from hub.transfers import sending as transfers
from hub.transfers.requests import service as transfer_requests
from hub.transfers.requests.schemas import TransferRequestCreate
from hub.transfers.schemas import TransferCreate
from tests.support import factories
from tests.support.consent_rows import add_consent
from tests.support.reviews import send_back

PLAN = {
    "reason": "moves to the capital",
    "open_needs": ["psychosocial follow-up"],
    "risks": "none known",
    "handover_contact": "the duty case worker",
}


def sub_office(runtime: Runtime, parent_id: str, name: str) -> str:
    with runtime.sessions.begin() as db:
        return factories.org(db, runtime.policy, name, kind="iom_office", parent_id=parent_id).id


def case_of(runtime: Runtime, owner: str, name: str) -> str:
    with runtime.sessions.begin() as db:
        case = cases.create(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor="test",
            owner_organization_id=owner,
            external_ref=name,
            subject=Subject(birth_date=date(1990, 4, 2), sex="female"),
            data={"identity": {"given_name": "Canary", "family_name": "Matrix"}},
        )
        return case.id


def body(case_id: str, to: str) -> dict[str, object]:
    return {"case_id": case_id, "to_organization_id": to, "plan": PLAN}


def new_transfer(runtime: Runtime, owner: str, name: str) -> dict[str, object]:
    """A POST body for a transfer of a new case of `owner` to a new sub-office of it."""
    office = sub_office(runtime, owner, f"{name} office")
    return body(case_of(runtime, owner, name), office)


def sent_transfer(runtime: Runtime, owner: str, name: str, *, owner_receives: bool) -> str:
    """A transfer sent from `owner` to a new sub-office of it, or (`owner_receives`) the other
    way round; returns its id."""
    office = sub_office(runtime, owner, f"{name} office")
    sender, recipient = (office, owner) if owner_receives else (owner, office)
    case_id = case_of(runtime, sender, name)
    with runtime.sessions.begin() as db:
        transfer, _ = transfers.create(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor="test",
            organization_id=sender,
            data=TransferCreate.model_validate(body(case_id, recipient)),
        )
        assert transfer is not None and transfer.status == "sent"
        return transfer.id


def returned_transfer(runtime: Runtime, owner: str, name: str) -> str:
    """A transfer from `owner` to a new NGO (external: the gate decides), held for review (a
    verbal consent without a witness) and sent back by a consent officer: `returned`."""
    policy = runtime.policy
    case_id = case_of(runtime, owner, name)
    with runtime.sessions.begin() as db:
        ngo = factories.org(db, policy, f"{name} NGO", kind="ngo").id
        add_consent(
            db, case_id, purposes=["case_transfer"], categories=["identity"], method="verbal"
        )
        factories.agreement(db, policy, owner, ngo, ["case_transfer"], ["identity"])
        transfer, _ = transfers.create(
            db=db,
            keyring=runtime.keyring,
            policy=policy,
            actor="user:caseworker@matrix",
            organization_id=owner,
            data=TransferCreate.model_validate(body(case_id, ngo)),
        )
        assert transfer is not None and transfer.review_id is not None, transfer
        transfer_id, review_id = transfer.id, transfer.review_id
    send_back(runtime, review_id)
    return transfer_id


def request_body(runtime: Runtime, requester: str) -> dict[str, object]:
    """A POST body for a transfer request by `requester` to a new sub-office of it."""
    office = sub_office(runtime, requester, f"asked office {uuid.uuid4().hex[:8]}")
    return {"owner_organization_id": office, "case_ref": "MATRIX-ASKED", "reason": "moved"}


def transfer_request(runtime: Runtime, owner: str, *, owner_asked: bool = False) -> str:
    """A transfer request between `owner` and a new sub-office of it: made by `owner`, or
    (`owner_asked`) made to it; returns its id."""
    office = sub_office(runtime, owner, f"requesting office {uuid.uuid4().hex[:8]}")
    requester, asked = (office, owner) if owner_asked else (owner, office)
    with runtime.sessions.begin() as db:
        made = transfer_requests.create(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor="test",
            organization_id=requester,
            data=TransferRequestCreate(
                owner_organization_id=asked, case_ref="MATRIX-ASKED", reason="moved"
            ),
        )
        return made.id
