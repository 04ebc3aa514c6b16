"""A case transfer sent back for correction by a consent officer, and its resubmission.

Returned: the officer's `return` (a `review.decided` outbox message with outcome `returned`)
moves the held transfer to `returned`; nothing is offered. The sender reads why in the
transfer (`review`), then resubmits it (with an amended plan if it likes) or cancels it.

Resubmitted: the gate is asked again exactly as when the transfer was proposed
(`handover.decide` and `sending.hold`): permit → `sent` (offered); review → a new review is
opened, requested by whoever resubmitted it; deny → `cancelled` with reason `consent_denied`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hub import lifecycle
from hub.cases import service as cases
from hub.cases.models import Case
from hub.connectors import service as deliveries
from hub.consent.answers import STOPPED, meaning
from hub.consent.gate import Decision
from hub.crypto.keyring import KeyEncryptionKeys
from hub.lifecycle import Party, reasons
from hub.policy.loader import Policy
from hub.transfers import handover, sending, service
from hub.transfers.lifecycle import MOVES
from hub.transfers.models import Transfer
from hub.transfers.schemas import TransferResubmit

if TYPE_CHECKING:
    pass


def resubmit(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    transfer: Transfer,
    actor: str,
    organization_id: str,
    data: TransferResubmit,
) -> Decision:
    """Resubmit a returned transfer (resolve and lock it with `service.get` first): 409
    `invalid_transition` unless it is `returned` and the caller its sender. Returns the gate's
    decision; the transfer is then `sent`, `pending_review` or `cancelled`."""
    party = service.party_of(transfer, organization_id)
    # before anything changes: only the sender, only a returned transfer
    lifecycle.check(MOVES, "resubmit", status=transfer.status, party=party, reason=None)
    case = db.get_one(Case, transfer.case_id)
    if data.plan is not None:
        key = cases.live_key(db=db, keyring=keyring, case_id=case.id)
        if key is None:
            raise cases.CaseErased()
        transfer.plan_ciphertext = service.seal_plan(key, transfer.id, data.plan)
    service.move(
        db=db,
        keyring=keyring,
        transfer=transfer,
        action="resubmit",
        party=party,
        actor=actor,
        organization_id=organization_id,
    )
    decision = handover.decide(
        db=db,
        keyring=keyring,
        policy=policy,
        case=case,
        to=transfer.to_organization_id,
        actor=actor,
        context="resubmitted",
    )
    if meaning(policy, decision) in STOPPED:
        transfer.decision_id = decision.id
        # the gate's answer, not an officer's: the hub makes this move
        service.move(
            db=db,
            keyring=keyring,
            transfer=transfer,
            action="deny",
            party=Party.reviewer,
            actor=reasons.SYSTEM_ACTOR,
            organization_id=None,
            reason_code=reasons.CONSENT_DENIED,
        )
        return decision
    if not sending.hold(
        db=db, keyring=keyring, policy=policy, transfer=transfer, decision=decision, actor=actor
    ):
        service.move(
            db=db,
            keyring=keyring,
            transfer=transfer,
            action="release",
            party=Party.system,
            actor=reasons.SYSTEM_ACTOR,
            organization_id=None,
        )
        deliveries.start_transfer(db=db, transfer=transfer)
    return decision
