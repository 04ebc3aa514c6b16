"""A case transfer sent back for correction by a consent officer, and its resubmission
(`hub.lifecycle.resubmission`, written once for referrals and transfers).

The sender may amend the transfer's plan; the gate is then asked again exactly as when the
transfer was proposed (`handover.decide` and `sending.hold`): permit → `sent` (offered);
review → a new review; deny → `cancelled` with reason `consent_denied`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.cases import service as cases
from hub.consent.gate import Decision
from hub.crypto.keyring import KeyEncryptionKeys
from hub.lifecycle import resubmission
from hub.policy.loader import Policy
from hub.transfers import sending, service
from hub.transfers.lifecycle import MOVES
from hub.transfers.models import Transfer
from hub.transfers.schemas import TransferResubmit

RETURNED = resubmission.Resubmitted(
    table=MOVES,
    object_type=service.OBJECT_TYPE,
    ask=lambda db, keyring, policy, transfer, actor: sending.FLOW.ask_again(
        db, keyring, policy, transfer, actor, resubmission.CONTEXT
    ),
    hold=lambda db, keyring, policy, transfer, decision, actor: sending.hold(
        db=db, keyring=keyring, policy=policy, transfer=transfer, decision=decision, actor=actor
    ),
    release=sending.FLOW.release,
)


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

    def amend() -> None:
        if data.plan is not None:
            key = cases.live_key(db=db, keyring=keyring, case_id=transfer.case_id)
            if key is None:
                raise cases.CaseErased()
            transfer.plan_ciphertext = service.seal_plan(key, transfer.id, data.plan)

    return resubmission.resubmit(
        db=db,
        keyring=keyring,
        policy=policy,
        kind=RETURNED,
        held=transfer,
        party=service.party_of(transfer, organization_id),
        actor=actor,
        organization_id=organization_id,
        amend=amend,
    )
