"""Closing and reopening a case (`hub.closure`): the table (`lifecycle.MOVES`) decides which
move is legal, `hub.lifecycle.history.apply` makes it (the event in the case's history, with
the actor, the time, the reason code and the note sealed with the case's key; the audit entry
`case.close` / `case.reopen`).

Closing asks about every open request the owner sent for the case, and every transfer request
still waiting that names the case, received by the owner (another office asks for it) or made by
it: each must be named, `cancel` or `keep` (409 `case_has_open_requests` with the ids of those
left out). A cancelled referral or transfer goes by the sender's own `cancel`
(`hub.referrals.service.party_move`, `hub.transfers.service.party_move`): the same table, the
same notice to the recipient. A cancelled transfer request goes by its own lifecycle
(`hub.transfers.requests.service`): one received is refused with the code `case_closed` (the
policy's `transfer_request_refusals`), one the owner made is withdrawn. All of it is one
transaction: a move the table refuses (409) leaves the case open.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.api.problems import Conflict
from hub.api.vocabulary import check as vocabulary_check
from hub.audit.service import record as audit
from hub.cases import service as cases
from hub.cases.models import Case
from hub.closure.lifecycle import MOVES, OBJECT_TYPE
from hub.closure.schemas import Choice, OpenRequest
from hub.crypto.keyring import KeyEncryptionKeys
from hub.lifecycle import Party, history, tables
from hub.lifecycle.schemas import EventRead
from hub.policy.loader import Policy
from hub.referrals import service as referrals
from hub.referrals.lifecycle import FINAL as REFERRAL_FINAL
from hub.referrals.lifecycle import MOVES as REFERRAL_MOVES
from hub.referrals.models import Referral
from hub.transfers import service as transfers
from hub.transfers.lifecycle import MOVES as TRANSFER_MOVES
from hub.transfers.models import Transfer
from hub.transfers.requests import service as transfer_requests
from hub.transfers.requests.lifecycle import MOVES as REQUEST_MOVES
from hub.transfers.requests.lifecycle import REQUESTED
from hub.transfers.requests.models import TransferRequest
from hub.transfers.sending import OPEN as TRANSFER_OPEN

CANCEL = "cancel"
# what the recipient reads as the reason of a cancellation made by closing: never the note
# (the owner's words about the person stay in the case's history)
CANCEL_TEXT = "The case was closed by the organisation that owns it."
# the refusal code of a transfer request received for a case that closing refuses (a policy
# without it: its last code, `other` by default)
CASE_CLOSED = "case_closed"


def _referrals(db: Session, case: Case, lock: bool) -> list[Referral]:
    query = (
        select(Referral)
        .where(
            Referral.case_id == case.id,
            Referral.from_organization_id == case.owner_organization_id,
            Referral.status.not_in(sorted(REFERRAL_FINAL)),
        )
        .order_by(Referral.created_at, Referral.id)
    )
    return list(db.scalars(query.with_for_update() if lock else query))


def _transfers(db: Session, case: Case, lock: bool) -> list[Transfer]:
    query = (
        select(Transfer)
        .where(
            Transfer.case_id == case.id,
            Transfer.from_organization_id == case.owner_organization_id,
            Transfer.status.in_(TRANSFER_OPEN),
        )
        .order_by(Transfer.created_at, Transfer.id)
    )
    return list(db.scalars(query.with_for_update() if lock else query))


def _transfer_requests(db: Session, case: Case, lock: bool) -> list[TransferRequest]:
    """The transfer requests still waiting that name the case and that the owner is party to:
    received (asked for the case) or made by it."""
    owner = case.owner_organization_id
    query = (
        select(TransferRequest)
        .where(
            TransferRequest.case_id == case.id,
            TransferRequest.status == REQUESTED,
            or_(
                TransferRequest.owner_organization_id == owner,
                TransferRequest.requester_organization_id == owner,
            ),
        )
        .order_by(TransferRequest.created_at, TransferRequest.id)
    )
    return list(db.scalars(query.with_for_update() if lock else query))


def _request_move(request: TransferRequest, case: Case) -> str:
    """What cancelling a transfer request is for the owner: refusing one it received,
    withdrawing one it made."""
    return "refuse" if request.owner_organization_id == case.owner_organization_id else "withdraw"


def open_requests(*, db: Session, case: Case) -> list[OpenRequest]:
    """The referrals and transfers the owner sent for the case that are still open, and the
    transfer requests naming it still waiting, oldest first: what closing asks about."""
    items = [
        OpenRequest(
            id=r.id,
            kind="referral",
            status=r.status,
            to_organization_id=r.to_organization_id,
            created_at=r.created_at,
            can_cancel=r.status in REFERRAL_MOVES[CANCEL].sources,
        )
        for r in _referrals(db, case, lock=False)
    ]
    items += [
        OpenRequest(
            id=t.id,
            kind="transfer",
            status=t.status,
            to_organization_id=t.to_organization_id,
            created_at=t.created_at,
            can_cancel=t.status in TRANSFER_MOVES[CANCEL].sources,
        )
        for t in _transfers(db, case, lock=False)
    ]
    for q in _transfer_requests(db, case, lock=False):
        move = _request_move(q, case)
        items.append(
            OpenRequest(
                id=q.id,
                kind="transfer_request",
                status=q.status,
                to_organization_id=q.owner_organization_id,
                from_organization_id=q.requester_organization_id,
                received=move == "refuse",
                created_at=q.created_at,
                can_cancel=q.status in REQUEST_MOVES[move].sources,
            )
        )
    return sorted(items, key=lambda item: (item.created_at, item.id))


def close(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    case: Case,
    actor: str,
    reason: str | None,
    note: str | None,
    requests: Mapping[str, Choice],
) -> None:
    """Close the case (lock it first): 410 erased; 409 `invalid_transition` when not open; 422
    `reason_required` / `unknown_value` for the reason; 409 `case_has_open_requests` when an
    open request is not named; then the cancellations, then the move."""
    if case.erased_at is not None:
        raise cases.CaseErased()
    tables.check(MOVES, "close", status=case.status, party=Party.owner, reason=reason)
    assert reason is not None  # the table requires it
    vocabulary_check(policy, "closure_reasons", reason, field="reason")
    found_referrals = _referrals(db, case, lock=True)
    found_transfers = _transfers(db, case, lock=True)
    found_asks = _transfer_requests(db, case, lock=True)
    open_ids = [
        *(r.id for r in found_referrals),
        *(t.id for t in found_transfers),
        *(q.id for q in found_asks),
    ]
    unaddressed = [i for i in open_ids if i not in requests]
    if unaddressed:
        raise Conflict(
            "case_has_open_requests",
            "The case has open referrals, transfers or transfer requests",
            "Say for each whether to cancel or keep it (`requests`).",
            open_requests=unaddressed,
        )
    # a request named but no longer open (answered meanwhile) has nothing left to decide
    organization_id = case.owner_organization_id
    for referral in found_referrals:
        if requests[referral.id] == CANCEL:
            referrals.party_move(
                db=db,
                keyring=keyring,
                referral=referral,
                action=CANCEL,
                actor=actor,
                organization_id=organization_id,
                text=CANCEL_TEXT,
                policy=policy,
            )
    for transfer in found_transfers:
        if requests[transfer.id] == CANCEL:
            transfers.party_move(
                db=db,
                keyring=keyring,
                transfer=transfer,
                action=CANCEL,
                actor=actor,
                organization_id=organization_id,
                text=CANCEL_TEXT,
            )
    for ask in found_asks:
        if requests[ask.id] == CANCEL:
            _cancel_request(db, keyring, policy, case, ask, actor)
    history.apply(
        db=db,
        keyring=keyring,
        table=MOVES,
        object_type=OBJECT_TYPE,
        tracked=case,
        action="close",
        party=Party.owner,
        actor=actor,
        organization_id=organization_id,
        reason_code=reason,
        text=note.strip() if note and note.strip() else None,
    )
    kept = [i for i in open_ids if requests[i] != CANCEL]
    cancelled = [i for i in open_ids if requests[i] == CANCEL]
    if open_ids:
        # ids only: what each became is in its own history and audit entries
        audit(
            db,
            actor=actor,
            action="case.close_requests",
            object_type=OBJECT_TYPE,
            object_id=case.id,
            details={"cancelled": cancelled, "kept": kept},
        )


def _cancel_request(
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    case: Case,
    request: TransferRequest,
    actor: str,
) -> None:
    """Refuse a request the owner received (code `case_closed`), withdraw one it made: the
    requests' own moves, their events, audit entries and the other party's view."""
    organization_id = case.owner_organization_id
    if _request_move(request, case) == "withdraw":
        transfer_requests.withdraw(
            db=db,
            keyring=keyring,
            request=request,
            actor=actor,
            organization_id=organization_id,
            text=CANCEL_TEXT,
        )
        return
    codes = policy.vocabularies.transfer_request_refusals
    transfer_requests.refuse(
        db=db,
        keyring=keyring,
        policy=policy,
        request=request,
        actor=actor,
        organization_id=organization_id,
        refusal_code=CASE_CLOSED if CASE_CLOSED in codes else codes[-1],
        # the code says it, in the reader's language: no words beside it
        text=None,
    )


def reopen(
    *, db: Session, keyring: KeyEncryptionKeys, case: Case, actor: str, note: str | None
) -> None:
    """Open a closed case again (lock it first): 410 erased, 409 when it is not closed."""
    if case.erased_at is not None:
        raise cases.CaseErased()
    history.apply(
        db=db,
        keyring=keyring,
        table=MOVES,
        object_type=OBJECT_TYPE,
        tracked=case,
        action="reopen",
        party=Party.owner,
        actor=actor,
        organization_id=case.owner_organization_id,
        text=note.strip() if note and note.strip() else None,
    )


def events(*, db: Session, keyring: KeyEncryptionKeys, case: Case) -> list[EventRead]:
    """The case's own history, oldest first, as its owner reads it (resolve it first)."""
    return history.history(
        db=db,
        keyring=keyring,
        object_type=OBJECT_TYPE,
        tracked=case,
        viewer=case.owner_organization_id,
    )
