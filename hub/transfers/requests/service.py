"""Transfer requests: naming the case, who sees a request, its moves, what each party sees.

Naming the case without enumeration (docs/transfers.md "Transfer requests"). The requester
names the owner organisation and the case as it knows it: the owner's reference it was told
(`case_ref`), or a referral about the case it received (`referral_id`). The hub looks for that
case of that owner (not erased); found or not, the request is stored, addressed to the named
owner, with the same answer (201, the request's id, status `requested`, its deadline). The
requester's every view of it is built from what it gave and the request's own state, never
from the match: `case_id` and `matched` are the owner's only. The owner sees the match, or an
"unmatched" request it may still answer with a transfer of a case it picks, or refuse
(`case_not_identified`).

THE access rule (`visible_to`) serves single reads and lists: the requester and the owner
named, nobody else (404). Every change of status goes through `move` (`hub.lifecycle.history`:
the table, the event, the audit entry). What the requester wrote (the name it gave, the reason)
and the words beside a refusal or withdrawal are sealed with the request's own data key (owner
`transfer_request:<id>`), shredded when the case it names is erased (`forget_case`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from hub import lifecycle
from hub.api import pagination
from hub.api.problems import NotFound, Unprocessable
from hub.api.vocabulary import check as check_vocabulary
from hub.api.vocabulary import check_values, urgencies
from hub.audit.service import record as audit
from hub.cases.models import Case
from hub.clock import utcnow
from hub.crypto import service as keys
from hub.crypto.envelope import decrypt_json, encrypt_json
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.base import new_id
from hub.lifecycle import Party, history
from hub.organizations import service as organizations
from hub.policy.loader import Policy
from hub.transfers import service as transfers
from hub.transfers.models import Transfer
from hub.transfers.requests import deadlines
from hub.transfers.requests.lifecycle import MOVES, REQUESTED, STATUSES
from hub.transfers.requests.models import TransferRequest
from hub.transfers.requests.schemas import (
    TransferRequestCreate,
    TransferRequestRead,
    TransferRequestSummary,
)

OBJECT_TYPE = "transfer_request"
TABLE = "transfer_requests"
ASKED_FIELD = "asked"
WORDS_FIELD = "words"
KEY_OWNER_PREFIX = "transfer_request:"
REFUSED_BY_OWNER = "refused_by_owner"
WITHDRAWN_BY_REQUESTER = "withdrawn_by_requester"
ANSWERED_WITH_TRANSFER = "answered_with_transfer"

# (db, referral id, organisation) → the case of a referral sent to that organisation, or None:
# the referrals' rule (`hub.referrals.service.case_received`), handed down by `hub.wiring` (the
# requests never import the referrals)
CaseOfReferral = Callable[..., str | None]
_case_of_referral: list[CaseOfReferral] = []


def on_referral_lookup(lookup: CaseOfReferral) -> CaseOfReferral:
    _case_of_referral[:] = [lookup]
    return lookup


def key_owner(request_id: str) -> str:
    return f"{KEY_OWNER_PREFIX}{request_id}"


# -- naming the case ----------------------------------------------------------------------------
def match(*, db: Session, data: TransferRequestCreate, requester: str) -> str | None:
    """The owner's live case the request names, or None. Whatever the answer, the caller
    answers the requester the same."""
    owner = data.owner_organization_id
    if data.case_ref is not None:
        case_id = db.scalar(
            select(Case.id).where(
                Case.owner_organization_id == owner,
                Case.external_ref == data.case_ref,
                Case.erased_at.is_(None),
            )
        )
        return case_id
    if not _case_of_referral:
        raise RuntimeError("no referral lookup installed: see hub.wiring")
    found = _case_of_referral[0](db=db, referral_id=data.referral_id, organization_id=requester)
    if found is None:
        return None
    # the case must still be the named owner's (a case transferred since is another's)
    return db.scalar(
        select(Case.id).where(
            Case.id == found, Case.owner_organization_id == owner, Case.erased_at.is_(None)
        )
    )


def create(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    actor: str,
    organization_id: str,
    data: TransferRequestCreate,
) -> TransferRequest:
    """Ask the owner for a case (see the module): stored matched or not, the same answer."""
    check_values(
        field="urgency", vocabulary="urgencies", allowed=urgencies(policy), values=data.urgency
    )
    organizations.check_recipient(
        db=db,
        recipient_id=data.owner_organization_id,
        sender_id=organization_id,
        what="ask for a case",
    )
    case_id = match(db=db, data=data, requester=organization_id)
    request_id = new_id()
    now = utcnow()
    key = keys.data_key(db=db, keyring=keyring, owner=key_owner(request_id), create=True)
    asked = {
        "case_ref": data.case_ref,
        "referral_id": data.referral_id,
        "reason": data.reason,
    }
    request = TransferRequest(
        id=request_id,
        requester_organization_id=organization_id,
        owner_organization_id=data.owner_organization_id,
        case_id=case_id,
        named_by="case_ref" if data.case_ref is not None else "referral",
        urgency=data.urgency,
        asked_ciphertext=encrypt_json(key, asked, table=TABLE, row=request_id, field=ASKED_FIELD),
        status=REQUESTED,
        answer_by=now + policy.follow_up.transfer_request.window(data.urgency).deadline,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    db.add(request)
    history.record_event(
        db=db,
        key=None,
        object_type=OBJECT_TYPE,
        object_id=request_id,
        actor=actor,
        organization_id=organization_id,
        from_status=None,
        to_status=REQUESTED,
    )
    audit(
        db,
        actor=actor,
        action="transfer_request.created",
        object_type=OBJECT_TYPE,
        object_id=request_id,
        details={
            "requester_organization_id": organization_id,
            "owner_organization_id": data.owner_organization_id,
            "named_by": request.named_by,
            "matched": case_id is not None,
            "case_id": case_id,
            "urgency": data.urgency,
        },
    )
    return request


# -- who sees it ----------------------------------------------------------------------------------
def visible_to(organization_id: str) -> ColumnElement[bool]:
    """THE access rule: the requester and the owner it named."""
    return or_(
        TransferRequest.requester_organization_id == organization_id,
        TransferRequest.owner_organization_id == organization_id,
    )


def get(
    *, db: Session, request_id: str, organization_id: str, lock: bool = False
) -> TransferRequest:
    query = select(TransferRequest).where(
        TransferRequest.id == request_id, visible_to(organization_id)
    )
    if lock:
        query = query.with_for_update()
    found = db.scalar(query)
    if found is None:
        raise NotFound("transfer_request")
    return found


def party_of(request: TransferRequest, organization_id: str) -> Party:
    if request.requester_organization_id == organization_id:
        return Party.sender
    if request.owner_organization_id == organization_id:
        return Party.recipient
    raise NotFound("transfer_request")


# -- moves --------------------------------------------------------------------------------------
def move(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    request: TransferRequest,
    action: str,
    party: Party,
    actor: str,
    organization_id: str | None,
    reason_code: str | None = None,
    coded: str | None = None,
    text: str | None = None,
) -> None:
    """Make `action` by the table (409/422 otherwise). The words are sealed on the request
    (with its own key), never in the event: the event keeps codes only."""
    history.apply(
        db=db,
        keyring=keyring,
        table=MOVES,
        object_type=OBJECT_TYPE,
        tracked=request,  # type: ignore[arg-type]
        action=action,
        party=party,
        actor=actor,
        organization_id=organization_id,
        reason_code=reason_code,
        coded=coded,
    )
    if text:
        key = _key(db, keyring, request)
        if key is not None:
            request.words_ciphertext = encrypt_json(
                key, {"text": text}, table=TABLE, row=request.id, field=WORDS_FIELD
            )


def refuse(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    request: TransferRequest,
    actor: str,
    organization_id: str,
    refusal_code: str | None,
    text: str | None,
) -> None:
    """The owner refuses, with a code of the policy's `transfer_request_refusals`."""
    if refusal_code is not None:
        check_vocabulary(policy, "transfer_request_refusals", refusal_code, field="refusal_code")
    if party_of(request, organization_id) is not Party.recipient:
        lifecycle.check(MOVES, "refuse", status=request.status, party=Party.sender, reason=None)
    if refusal_code is None:
        raise Unprocessable("reason_required", "A refusal_code is required to refuse")
    request.refusal_code = refusal_code
    move(
        db=db,
        keyring=keyring,
        request=request,
        action="refuse",
        party=Party.recipient,
        actor=actor,
        organization_id=organization_id,
        reason_code=REFUSED_BY_OWNER,
        coded=refusal_code,
        text=text.strip() if text and text.strip() else None,
    )


def withdraw(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    request: TransferRequest,
    actor: str,
    organization_id: str,
    text: str | None,
) -> None:
    move(
        db=db,
        keyring=keyring,
        request=request,
        action="withdraw",
        party=party_of(request, organization_id),
        actor=actor,
        organization_id=organization_id,
        reason_code=WITHDRAWN_BY_REQUESTER,
        text=text.strip() if text and text.strip() else None,
    )


def answer_with(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    request_id: str,
    organization_id: str,
    case_id: str,
    to_organization_id: str,
) -> TransferRequest:
    """Check, before a transfer is proposed in answer to the request, that it may answer it
    (`hub.transfers.sending.create`): the owner's request, still `requested`, the transfer
    to the requester, and of the case the request names (an unmatched one takes the owner's
    pick). The request, locked; `answered` moves it once the transfer exists."""
    request = get(db=db, request_id=request_id, organization_id=organization_id, lock=True)
    if party_of(request, organization_id) is not Party.recipient:
        raise NotFound("transfer_request")
    lifecycle.check(MOVES, "answer", status=request.status, party=Party.recipient, reason=None)
    if to_organization_id != request.requester_organization_id:
        raise Unprocessable(
            "transfer_request_mismatch",
            "A transfer answering a request goes to the organisation that asked",
            field="to_organization_id",
        )
    if request.case_id is not None and request.case_id != case_id:
        raise Unprocessable(
            "transfer_request_mismatch",
            "The request names another case of yours",
            field="case_id",
        )
    return request


def answered(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    request: TransferRequest,
    transfer: Transfer,
    actor: str,
    organization_id: str,
) -> None:
    """The transfer answering the request exists: the request moves, in the same transaction."""
    request.case_id = transfer.case_id
    request.transfer_id = transfer.id
    move(
        db=db,
        keyring=keyring,
        request=request,
        action="answer",
        party=Party.recipient,
        actor=actor,
        organization_id=organization_id,
        reason_code=ANSWERED_WITH_TRANSFER,
    )


def forget_case(*, db: Session, case_id: str) -> int:
    """The case is erased: what its requests hold sealed goes with it (their keys shredded)."""
    ids = db.scalars(select(TransferRequest.id).where(TransferRequest.case_id == case_id)).all()
    for request_id in ids:
        keys.shred(db=db, owner=key_owner(request_id))
    return len(ids)


# -- what each party sees -------------------------------------------------------------------------
def _key(db: Session, keyring: KeyEncryptionKeys, request: TransferRequest) -> bytes | None:
    try:
        return keys.data_key(db=db, keyring=keyring, owner=key_owner(request.id))
    except keys.DataKeyMissing:
        return None


def _offered_to_requester(db: Session, request: TransferRequest) -> bool:
    if request.transfer_id is None:
        return False
    found = db.scalar(
        select(Transfer.id).where(
            Transfer.id == request.transfer_id,
            transfers.received_by(request.requester_organization_id),
        )
    )
    return found is not None


def summary_fields(db: Session, request: TransferRequest, party: Party) -> dict[str, Any]:
    owner = party is Party.recipient
    now = utcnow()
    waiting = request.status == REQUESTED
    shown_transfer = request.transfer_id if owner or _offered_to_requester(db, request) else None
    return {
        "id": request.id,
        "requester_organization_id": request.requester_organization_id,
        "owner_organization_id": request.owner_organization_id,
        "named_by": request.named_by,
        "urgency": request.urgency,
        "status": request.status,
        "status_reason": request.status_reason,
        "refusal_code": request.refusal_code,
        "transfer_id": shown_transfer,
        "case_id": request.case_id if owner else None,
        "matched": (request.case_id is not None) if owner else None,
        "answer_by": request.answer_by,
        "overdue": waiting and deadlines.is_overdue(request, now),
        "escalated": waiting and request.escalated_at is not None,
        "created_at": request.created_at,
        "updated_at": request.updated_at,
        "allowed_actions": _actions(request, party),
    }


def _actions(request: TransferRequest, party: Party) -> list[str]:
    found = lifecycle.allowed_actions(MOVES, status=request.status, party=party)
    # `answer` is made by proposing the transfer (POST /v1/transfers with the request's id)
    return ["propose_transfer" if a == "answer" else a for a in found]


def summary(db: Session, request: TransferRequest, organization_id: str) -> TransferRequestSummary:
    return TransferRequestSummary(**summary_fields(db, request, party_of(request, organization_id)))


def read(
    *, db: Session, keyring: KeyEncryptionKeys, request: TransferRequest, organization_id: str
) -> TransferRequestRead:
    party = party_of(request, organization_id)
    key = _key(db, keyring, request)
    asked: dict[str, Any] = {}
    words = None
    if key is not None:
        asked = decrypt_json(
            key, request.asked_ciphertext, table=TABLE, row=request.id, field=ASKED_FIELD
        )
        if request.words_ciphertext is not None:
            words = decrypt_json(
                key, request.words_ciphertext, table=TABLE, row=request.id, field=WORDS_FIELD
            ).get("text")
    reference = None
    if party is Party.recipient and request.case_id is not None:
        reference = db.scalar(select(Case.external_ref).where(Case.id == request.case_id))
    return TransferRequestRead(
        **summary_fields(db, request, party),
        case_ref=asked.get("case_ref"),
        referral_id=asked.get("referral_id"),
        reason=asked.get("reason"),
        answer_text=words,
        case_external_ref=reference,
    )


def get_page(
    *,
    db: Session,
    organization_id: str,
    role: str | None,
    statuses: list[str] | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[TransferRequestSummary], str | None]:
    """The organisation's requests, newest first: those it made (`role=sent`), those it was
    asked (`role=received`), or both."""
    if any(s not in STATUSES for s in statuses or ()):
        raise Unprocessable(
            "unknown_value",
            "Unknown transfer request status",
            field="status",
            allowed=list(STATUSES),
        )
    if role == "sent":
        condition = TransferRequest.requester_organization_id == organization_id
    elif role == "received":
        condition = TransferRequest.owner_organization_id == organization_id
    else:
        condition = visible_to(organization_id)
    query = select(TransferRequest).where(condition)
    if statuses:
        query = query.where(TransferRequest.status.in_(statuses))
    query = pagination.page(
        query,
        time_column=TransferRequest.created_at,
        id_column=TransferRequest.id,
        cursor=cursor,
        limit=limit,
    )
    rows = list(db.scalars(query))
    cursor_next = pagination.next_cursor(rows, limit, time_attr="created_at")
    return [summary(db, r, organization_id) for r in rows[:limit]], cursor_next


def count_waiting(*, db: Session, organization_id: str) -> int:
    """How many requests wait for the organisation's answer (the console's navigation)."""
    query = (
        select(func.count())
        .select_from(TransferRequest)
        .where(
            TransferRequest.owner_organization_id == organization_id,
            TransferRequest.status == REQUESTED,
        )
    )
    return int(db.scalar(query) or 0)
