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

It lives in a package of its own, in the layer above the requests, because it moves them:
`hub.cases` knows nothing of referrals and transfers, and the DELETE route that erases a case
is this package's (`hub.erasure.routes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.cases import service as cases
from hub.cases.models import Case
from hub.crypto.keyring import KeyEncryptionKeys
from hub.lifecycle import UNDER_REVIEW, Party, history, reasons
from hub.referrals.lifecycle import MOVES as REFERRAL_MOVES
from hub.referrals.models import Referral
from hub.reviews.closing import forget_case
from hub.transfers.lifecycle import MOVES as TRANSFER_MOVES
from hub.transfers.models import Transfer

MOVE = "erase_case"


@dataclass(frozen=True)
class Erased:
    referrals_cancelled: list[str]
    transfers_cancelled: list[str]


def erase(*, db: Session, keyring: KeyEncryptionKeys, actor: str, case: Case) -> Erased:
    """Erase the case (410 `case_erased` if it already is) and cancel its requests still under
    review; returns their ids. The cancellations are the hub's moves (the table's `system`
    party), recorded against whoever erased the case and its organisation."""
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
    cases.erase(db=db, actor=actor, case=case)
    forget_case(db=db, case_id=case.id)
    return Erased(
        referrals_cancelled=[r.id for r in referrals],
        transfers_cancelled=[t.id for t in transfers],
    )
