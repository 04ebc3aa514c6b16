"""Erasing a case, and what waits on it.

`hub.cases.service.erase` shreds the case's key and deletes its ciphertexts. What the case's
requests still wait for goes in the same transaction, so that no consent officer is left with
a request about data that no longer exists: a referral or a transfer held for review, or sent
back for correction (`pending_review`, `returned`), is cancelled by the lifecycle table's
`erase_case` move (reason `case_erased`), which closes its pending review
(`hub.reviews.closing`: `withdrawn`, out of every queue). What the case's reviews kept in clear
about its subject is then dropped (`hub.reviews.closing.forget_case`).

A request already sent is left to its own path: the gate, asked again before each delivery
and read, answers `case_erased`.

Every organisation the case's data went to (the accounting of disclosures: a referral's
recipient, a transfer's) is told, once, by a notice on the outbox (`NOTICE_TOPIC`, pushed by the
delivery workflow to its webhook, `case.erased`): the case's id, its referrals' and transfers'
ids, and why (`request`: the person asked; `retention`: the hub's retention,
`hub.retention`), so that it erases its own copies. Ids and codes only.

It lives in a package of its own, in the layer above the requests, because it moves them:
`hub.cases` knows nothing of referrals and transfers, and the DELETE route that erases a case
is this package's (`hub.erasure.routes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.service import record as audit
from hub.cases import service as cases
from hub.cases.models import Case
from hub.crypto.keyring import KeyEncryptionKeys
from hub.disclosures.models import Disclosure
from hub.lifecycle import UNDER_REVIEW, Party, history, reasons
from hub.outbox.service import enqueue
from hub.referrals.lifecycle import MOVES as REFERRAL_MOVES
from hub.referrals.models import Referral
from hub.reviews.closing import forget_case
from hub.transfers.lifecycle import MOVES as TRANSFER_MOVES
from hub.transfers.models import Transfer
from hub.transfers.requests.service import forget_case as forget_requests

MOVE = "erase_case"
# the outbox topic of the notice to an organisation that held the case's data
NOTICE_TOPIC = "case.erased_notice"
# why a case is erased: the person asked (DELETE /v1/cases/{id}), or the hub's retention
REQUEST = "request"
RETENTION = "retention"
WHY = (REQUEST, RETENTION)


@dataclass(frozen=True)
class Erased:
    referrals_cancelled: list[str]
    transfers_cancelled: list[str]
    organizations_told: list[str]


def holders(*, db: Session, case: Case) -> list[str]:
    """The organisations the case's data was disclosed to (its owner aside), sorted."""
    found = db.scalars(
        select(Disclosure.recipient_organization_id).where(Disclosure.case_id == case.id).distinct()
    )
    return sorted(o for o in found if o != case.owner_organization_id)


def erase(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    actor: str,
    case: Case,
    why: str = REQUEST,
) -> Erased:
    """Erase the case (410 `case_erased` if it already is) and cancel its requests still under
    review; returns their ids, and the organisations told. The cancellations are the hub's
    moves (the table's `system` party), recorded against whoever erased the case and its
    organisation. `why` is `request` or `retention`: what the holders are told."""
    if why not in WHY:
        raise ValueError(f"unknown erasure reason {why!r}")
    if case.erased_at is not None:
        raise cases.CaseErased()
    referrals = db.scalars(
        select(Referral)
        .where(Referral.case_id == case.id, Referral.status.in_(sorted(UNDER_REVIEW)))
        .order_by(Referral.created_at, Referral.id)
        .with_for_update()
    ).all()
    transfers = db.scalars(
        select(Transfer)
        .where(Transfer.case_id == case.id, Transfer.status.in_(sorted(UNDER_REVIEW)))
        .order_by(Transfer.created_at, Transfer.id)
        .with_for_update()
    ).all()
    for object_type, table, tracked in [
        *(("referral", REFERRAL_MOVES, r) for r in referrals),
        *(("transfer", TRANSFER_MOVES, t) for t in transfers),
    ]:
        history.apply(
            db=db,
            keyring=keyring,
            table=table,
            object_type=object_type,
            tracked=tracked,
            action=MOVE,
            party=Party.system,
            actor=actor,
            organization_id=case.owner_organization_id,
            reason_code=reasons.CASE_ERASED,
        )
    told = holders(db=db, case=case)
    cases.erase(db=db, actor=actor, case=case)
    forget_case(db=db, case_id=case.id)
    # what the transfer requests naming the case hold sealed (the requester's reason) goes too
    forget_requests(db=db, case_id=case.id)
    for organization_id in told:
        enqueue(
            db=db,
            topic=NOTICE_TOPIC,
            payload={"case_id": case.id, "organization_id": organization_id, "why": why},
        )
    if told:
        audit(
            db,
            actor=actor,
            action="case.erasure_notices_queued",
            object_type="case",
            object_id=case.id,
            details={"organization_ids": told, "why": why},
        )
    return Erased(
        referrals_cancelled=[r.id for r in referrals],
        transfers_cancelled=[t.id for t in transfers],
        organizations_told=told,
    )
