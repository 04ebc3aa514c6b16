"""Who may see a case transfer, how it moves, its history, and what each party sees of it.

One access rule (`visible_to`) serves single reads and lists: the sender sees its transfers,
the recipient those that were sent to it (never one held for review, or cancelled before it
left). Every change of status goes through `move`, which asks `hub.lifecycle.check` and writes
a lifecycle event and an audit entry; nothing else changes a transfer's status.

The sender sees its plan and what the plan hands over (and what consent did not cover). Before
acceptance the recipient sees the plan and a minimal summary of the case only (its id, the
sender's reference, the subject's age band and sex): no names, no data, not even the names of
the data categories the case holds. Once the transfer is rejected or cancelled the recipient
keeps its history (ids, statuses, events) but no longer the plan or the summary.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from hub import lifecycle
from hub.api import pagination
from hub.api.problems import NotFound, Unprocessable
from hub.cases import service as cases
from hub.cases.ages import youngest_age
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent.models import GateDecision
from hub.crypto.envelope import decrypt_json, encrypt_json
from hub.crypto.keyring import KeyEncryptionKeys
from hub.disclosures import service as disclosures
from hub.disclosures.models import Disclosure
from hub.legal_bases import invocation, notices
from hub.lifecycle import Party, history, reasons
from hub.lifecycle.models import LifecycleEvent
from hub.lifecycle.schemas import EventRead
from hub.organizations.service import below
from hub.policy.legal_bases import CONSENT
from hub.policy.loader import Policy
from hub.transfers import deadlines
from hub.transfers.lifecycle import ACCEPTED, COMPLETED, MOVES, SENT
from hub.transfers.models import Transfer
from hub.transfers.schemas import (
    CaseBrief,
    ListScope,
    Role,
    SupervisedTransfer,
    TransferPlan,
    TransferSummary,
)

OBJECT_TYPE = "transfer"

PARTY_REASON_CODES = {
    "cancel": reasons.CANCELLED_BY_SENDER,
    "reject": reasons.REJECTED_BY_RECIPIENT,
}


TRANSFERS = "transfers"
# the disclosure of the case file on acceptance (an offer pushed to a webhook is another one)
TRANSFER_CHANNEL = "transfer"
PLAN_FIELD = "plan"
STATUSES = ("pending_review", "returned", SENT, ACCEPTED, "rejected", COMPLETED, "cancelled")
# the recipient sees the plan and the summary while the transfer is offered to it, and after
STILL_OFFERED = frozenset({SENT, ACCEPTED, COMPLETED})
# age bands as humanitarian data is commonly disaggregated (lower bound, label)
AGE_BANDS = ((60, "60+"), (18, "18-59"), (12, "12-17"), (5, "5-11"), (0, "0-4"))


def _was_sent() -> ColumnElement[bool]:
    # every way to `sent` (at creation, or on a review's approval) writes an event to `sent`;
    # the events' (object_type, object_id) index answers this without a scan
    return exists().where(
        LifecycleEvent.object_type == OBJECT_TYPE,
        LifecycleEvent.object_id == Transfer.id,
        LifecycleEvent.to_status == SENT,
    )


def received_by(organization_id: str) -> ColumnElement[bool]:
    return and_(Transfer.to_organization_id == organization_id, _was_sent())


def visible_to(organization_id: str) -> ColumnElement[bool]:
    """THE access rule, for single reads and lists alike: the sender's transfers, and those
    that were sent to the recipient."""
    return or_(Transfer.from_organization_id == organization_id, received_by(organization_id))


def get(*, db: Session, transfer_id: str, organization_id: str, lock: bool = False) -> Transfer:
    """The transfer if the caller's organisation is a party to it; otherwise 404."""
    query = select(Transfer).where(Transfer.id == transfer_id, visible_to(organization_id))
    if lock:
        # two moves of one transfer at once: the second waits and sees the first's status
        query = query.with_for_update(of=Transfer)
    transfer = db.scalar(query)
    if transfer is None:
        raise NotFound("transfer")
    return transfer


def party_of(transfer: Transfer, organization_id: str) -> Party:
    """The caller's side (resolve the transfer with `get` first, so it is one of the two)."""
    if transfer.from_organization_id == organization_id:
        return Party.sender
    if transfer.to_organization_id == organization_id:
        return Party.recipient
    raise NotFound("transfer")


def move(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    transfer: Transfer,
    action: str,
    party: Party,
    actor: str,
    organization_id: str | None,
    reason_code: str | None = None,
    text: str | None = None,
) -> None:
    """Make `action` by the transfer lifecycle table (`hub.lifecycle.history.apply`: 409/422
    otherwise)."""
    history.apply(
        db=db,
        keyring=keyring,
        table=MOVES,
        object_type=OBJECT_TYPE,
        tracked=transfer,
        action=action,
        party=party,
        actor=actor,
        organization_id=organization_id,
        reason_code=reason_code,
        text=text,
    )


def party_move(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    transfer: Transfer,
    action: str,
    actor: str,
    organization_id: str,
    text: str | None,
) -> None:
    """reject or cancel, asked for through the API by one of the parties."""
    move(
        db=db,
        keyring=keyring,
        transfer=transfer,
        action=action,
        party=party_of(transfer, organization_id),
        actor=actor,
        organization_id=organization_id,
        reason_code=PARTY_REASON_CODES.get(action),
        text=text.strip() if text else None,
    )


def events(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    transfer: Transfer,
    viewer: str | None = None,
    text_withheld_from: str | None = None,
) -> list[EventRead]:
    """The transfer's history, oldest first, as the organisation `viewer` sees it (resolve
    the transfer with `get` first). A recipient reads it through `offering.events`, which
    asks the gate before the sender's free text reaches it."""
    return history.history(
        db=db,
        keyring=keyring,
        object_type=OBJECT_TYPE,
        tracked=transfer,
        viewer=viewer,
        text_withheld_from=text_withheld_from,
    )


def seal_plan(key: bytes, transfer_id: str, plan: TransferPlan) -> bytes:
    return encrypt_json(
        key, plan.model_dump(mode="json"), table=TRANSFERS, row=transfer_id, field=PLAN_FIELD
    )


def open_plan(key: bytes | None, transfer: Transfer) -> TransferPlan | None:
    """The plan, or None once the case is erased (the plan went with the case's key)."""
    if key is None:
        return None
    value = decrypt_json(
        key, transfer.plan_ciphertext, table=TRANSFERS, row=transfer.id, field=PLAN_FIELD
    )
    return TransferPlan.model_validate(value)


def seal_basis_justification(key: bytes, transfer_id: str, justification: str) -> bytes:
    return invocation.seal(key, table=TRANSFERS, row=transfer_id, justification=justification)


def basis_justification(db: Session, keyring: KeyEncryptionKeys, transfer: Transfer) -> str | None:
    """Why the sender invoked the transfer's legal basis (None: consent, or the case erased)."""
    if transfer.basis_justification_ciphertext is None:
        return None
    key = cases.live_key(db=db, keyring=keyring, case_id=transfer.case_id)
    return invocation.unseal(
        key, transfer.basis_justification_ciphertext, table=TRANSFERS, row=transfer.id
    )


def account(
    *,
    db: Session,
    policy: Policy,
    transfer: Transfer,
    actor: str,
    categories: list[str],
    consent_ids: list[str] | tuple[str, ...],
    decision_id: str | None,
    channel: str,
    payload_sha256: str,
    legal_basis: str,
    keyring: KeyEncryptionKeys | None = None,
) -> Disclosure:
    """Record a disclosure of the transfer (its offer, its history's words, or the case file on
    acceptance) that has just left, on the basis its gate decision rests on; the first one made
    on a legal basis opens the news the office owes the person (`hub.legal_bases.notices`)."""
    disclosure = disclosures.record(
        db=db,
        actor=actor,
        case_id=transfer.case_id,
        recipient_organization_id=transfer.to_organization_id,
        categories=categories,
        consent_ids=consent_ids,
        decision_id=decision_id,
        channel=channel,
        payload_sha256=payload_sha256,
        transfer_id=transfer.id,
        keyring=keyring,
        legal_basis=legal_basis,
    )
    owe_news(db, policy, transfer, legal_basis, disclosure)
    return disclosure


def owe_news(
    db: Session, policy: Policy, transfer: Transfer, legal_basis: str, disclosure: Disclosure
) -> None:
    """Without the person's consent, the office owes them the news once it is safe (opened by
    the transfer's first disclosure on its basis; later ones change nothing)."""
    if legal_basis == CONSENT:
        return
    notices.owe(
        db,
        case_id=transfer.case_id,
        transfer_id=transfer.id,
        # the sender, which owned the case when it asked (on acceptance the case is already
        # the recipient's)
        organization_id=transfer.from_organization_id,
        recipient_organization_id=transfer.to_organization_id,
        legal_basis=legal_basis,
        requested_by=transfer.created_by,
        disclosed_at=disclosure.at,
        rule=policy.legal_bases.get(legal_basis),
    )


def age_band(age: int) -> str:
    return next(label for lower, label in AGE_BANDS if age >= lower)


def brief(*, db: Session, keyring: KeyEncryptionKeys, case: Case) -> CaseBrief:
    if case.erased_at is not None:
        return CaseBrief(case_id=case.id, external_ref=case.external_ref, age_band=None, sex=None)
    subject = cases.read_subject(db=db, keyring=keyring, case=case)
    age = youngest_age(subject, utcnow().date())
    band = None if age is None else age_band(age)
    return CaseBrief(
        case_id=case.id,
        external_ref=case.external_ref,
        age_band=band,  # type: ignore[arg-type]
        sex=subject.sex,
    )


def summary_fields(transfer: Transfer, party: Party) -> dict[str, Any]:
    sender = party is Party.sender
    return {
        "id": transfer.id,
        "case_id": transfer.case_id,
        "from_organization_id": transfer.from_organization_id,
        "to_organization_id": transfer.to_organization_id,
        "within_hierarchy": transfer.within_hierarchy,
        "status": transfer.status,
        "status_reason": transfer.status_reason,
        "consent_ids": list(transfer.consent_ids) if sender else None,
        "decision_id": transfer.decision_id if sender else None,
        "review_id": transfer.review_id if sender else None,
        "legal_basis": transfer.legal_basis,
        "created_at": transfer.created_at,
        "updated_at": transfer.updated_at,
        "accept_by": transfer.accept_by if transfer.status == SENT else None,
        "overdue": deadlines.is_overdue(transfer, utcnow()),
        "escalated": transfer.status == SENT and transfer.escalated_at is not None,
        "allowed_actions": lifecycle.allowed_actions(MOVES, status=transfer.status, party=party),
    }


def summary(transfer: Transfer, party: Party) -> TransferSummary:
    return TransferSummary(**summary_fields(transfer, party))


def planned(db: Session, transfer: Transfer) -> tuple[list[str] | None, list[str]]:
    """What the consent gate let the plan hand over, and what it withheld; (None, []) within a
    hierarchy, where the whole case"""
    if transfer.decision_id is None:
        return None, []
    decision = db.get_one(GateDecision, transfer.decision_id)
    permitted = list(decision.permitted_categories)
    return permitted, [c for c in decision.requested_categories if c not in permitted]


def released(db: Session, transfer: Transfer) -> list[str] | None:
    """The categories handed over on acceptance (from the accounting of disclosures)."""
    row = db.scalar(
        select(Disclosure)
        .where(Disclosure.transfer_id == transfer.id, Disclosure.channel == TRANSFER_CHANNEL)
        .limit(1)
    )
    return list(row.categories) if row is not None else None


def supervised_by(organization_id: str, role: Role | None = None) -> ColumnElement[bool]:
    """The transfers of the offices below the organisation (any depth): proposed by one of
    them, or offered to one of them (once sent). `role` narrows it as for its own."""
    offices = below(organization_id)
    sent = Transfer.from_organization_id.in_(offices)
    received = and_(Transfer.to_organization_id.in_(offices), _was_sent())
    if role is Role.sent:
        return sent
    if role is Role.received:
        return received
    return or_(sent, received)


def supervised(transfer: Transfer) -> SupervisedTransfer:
    """A transfer of an office below, as the office above sees it: no case, no plan."""
    return SupervisedTransfer(
        id=transfer.id,
        from_organization_id=transfer.from_organization_id,
        to_organization_id=transfer.to_organization_id,
        within_hierarchy=transfer.within_hierarchy,
        status=transfer.status,
        status_reason=transfer.status_reason,
        created_at=transfer.created_at,
        updated_at=transfer.updated_at,
    )


def get_supervised(*, db: Session, transfer_id: str, organization_id: str) -> SupervisedTransfer:
    """One transfer of an office below the organisation, as `?scope=tree` lists it (no case,
    no plan); 404 for any other."""
    transfer = db.scalar(
        select(Transfer).where(Transfer.id == transfer_id, supervised_by(organization_id))
    )
    if transfer is None:
        raise NotFound("transfer")
    return supervised(transfer)


def get_page(
    *,
    db: Session,
    organization_id: str,
    role: Role | None,
    statuses: list[str] | None,
    cursor: str | None,
    limit: int,
    scope: ListScope = ListScope.own,
) -> tuple[list[TransferSummary | SupervisedTransfer], str | None]:
    """The organisation's transfers, newest first; the access rule is part of the query. With
    `scope` tree, also those of the offices below it, as `SupervisedTransfer` (no data)."""
    if any(s not in STATUSES for s in statuses or ()):
        # not echoed: whatever a client puts in a query string stays out of answers
        raise Unprocessable(
            "unknown_value", "Unknown transfer status", field="status", allowed=list(STATUSES)
        )
    if role is Role.sent:
        condition = Transfer.from_organization_id == organization_id
    elif role is Role.received:
        condition = received_by(organization_id)
    else:
        condition = visible_to(organization_id)
    own = condition
    if scope is ListScope.tree:
        condition = or_(condition, supervised_by(organization_id, role))
    query = select(Transfer).where(condition)
    if statuses:
        query = query.where(Transfer.status.in_(statuses))
    query = pagination.page(
        query, time_column=Transfer.created_at, id_column=Transfer.id, cursor=cursor, limit=limit
    )
    if scope is ListScope.tree:
        # which rows are the caller's own: asked in the same query, by the same rule
        query = query.add_columns(own.label("own"))
        pairs = list(db.execute(query).tuples())
        rows = [t for t, _ in pairs]
        cursor_next = pagination.next_cursor(rows, limit, time_attr="created_at")
        return [
            summary(t, party_of(t, organization_id)) if mine else supervised(t)
            for t, mine in pairs[:limit]
        ], cursor_next
    rows = list(db.scalars(query))
    cursor_next = pagination.next_cursor(rows, limit, time_attr="created_at")
    items: list[TransferSummary | SupervisedTransfer] = [
        summary(t, party_of(t, organization_id)) for t in rows[:limit]
    ]
    return items, cursor_next


def count_received(
    *, db: Session, organization_id: str, statuses: tuple[str, ...] = (SENT,)
) -> int:
    """How many transfers offered to the organisation are in `statuses` (by default: waiting
    for its answer)."""
    query = (
        select(func.count())
        .select_from(Transfer)
        .where(received_by(organization_id), Transfer.status.in_(statuses))
    )
    return db.scalar(query) or 0
