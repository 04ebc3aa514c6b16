"""Case transfers (transferts de cas): responsibility for a case moves to another organisation.

`create` proposes a transfer with its plan. Between offices of one IOM hierarchy no consent is
needed (one data controller), but the transfer is audited like any other. To any other
organisation (a government, another UN agency, an NGO) the consent gate decides, with purpose
`case_transfer` and every category the case holds: permit → `sent`; review → `pending_review`
until a consent officer decides (`hub.lifecycle.decisions` with this module's `FLOW`);
deny → nothing is stored but the gate's decision and an audit entry `transfer.refused`.

Outside the hierarchy a transfer may rest on a legal basis of the policy instead of consent, as
a referral may (`hub.legal_bases.invocation` says who may invoke it, with a justification sealed
with the case's key): the gate is asked on that basis now and at every later asking (the review's
approval, the offer's push and reads, acceptance, a resubmission), so two consent officers
approve it and at most the basis's categories are handed over. Within the hierarchy no consent is
needed, so no basis either (422 `legal_basis_not_needed`).

The recipient accepts (`hub.transfers.handover`: ownership moves in one transaction) or
rejects; the sender may cancel while the transfer is open. A consent withdrawn while a
transfer waits cancels it (`cancel_for_withdrawal`, from the `consent.withdrawn` message).
Access, moves and history are `hub.transfers.service`; what each party sees is
`hub.transfers.service`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.problems import Conflict, Unprocessable
from hub.audit.service import record as audit
from hub.cases import service as cases
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent.answers import STOPPED, Answer, meaning
from hub.consent.gate import Decision
from hub.consent.models import Consent
from hub.consent.withdrawal import Effect
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.base import new_id
from hub.legal_bases import invocation
from hub.lifecycle import Party, history, reasons
from hub.organizations import service as organizations
from hub.policy.legal_bases import CONSENT
from hub.policy.loader import Policy
from hub.reviews.opening import open_review
from hub.transfers import deadlines, handover, service
from hub.transfers.lifecycle import ACCEPTED, PENDING_REVIEW, RETURNED, SENT, WITHDRAWABLE
from hub.transfers.models import Transfer
from hub.transfers.requests import service as requests
from hub.transfers.schemas import TransferCreate, TransferCreated

if TYPE_CHECKING:
    from hub.services import Services

# one open transfer per case at a time (one sent back waits for its sender's answer)
OPEN = (PENDING_REVIEW, RETURNED, SENT, ACCEPTED)
REVIEW_KIND = "transfer"


# The delivery workflow (`hub.delivery`, a layer up) starts the transfer's delivery in the sending
# transaction through the hook `hub.wiring` installs here (`hub.delivery.service.install`), so the
# requests never import it. None registered is a wiring fault, raised, never a transfer left
# silently undelivered.
StartDelivery = Callable[[Session, Transfer], None]
_start_delivery: list[StartDelivery] = []


def on_sent(start: StartDelivery) -> StartDelivery:
    """Register what starts a delivery (the delivery workflow's, once)."""
    _start_delivery[:] = [start]
    return start


def start_delivery(db: Session, transfer: Transfer) -> None:
    """Start the transfer's delivery, in the caller's transaction."""
    if not _start_delivery:
        raise RuntimeError("no delivery workflow installed: see hub.wiring")
    _start_delivery[0](db, transfer)


def _locked_case(db: Session, case_id: str, organization_id: str) -> Case:
    # locked: two proposals for one case at once, the second sees the first (one open at a
    # time); 404, 409 `case_closed`: the check every new request passes
    case = cases.open_for_requests(db=db, case_id=case_id, organization_id=organization_id)
    if case.erased_at is not None:
        raise cases.CaseErased()
    return case


def _check_none_open(db: Session, case: Case) -> None:
    open_id = db.scalar(
        select(Transfer.id).where(Transfer.case_id == case.id, Transfer.status.in_(OPEN))
    )
    if open_id is not None:
        raise Conflict(
            "transfer_open",
            "The case already has an open transfer",
            "Cancel it, or wait for the recipient's answer, before proposing another.",
            transfer_id=open_id,
        )


class BasisNotNeeded(Unprocessable):
    def __init__(self) -> None:
        super().__init__(
            "legal_basis_not_needed",
            "No legal basis is needed within one IOM hierarchy",
            "The offices of one hierarchy are one data controller: the transfer needs neither "
            "consent nor a legal basis. Leave `legal_basis` out.",
            field="legal_basis",
        )


def create(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    actor: str,
    organization_id: str,
    data: TransferCreate,
) -> tuple[Transfer | None, Decision | None]:
    """Propose a transfer (see the module). The transfer is None when the gate denied it; the
    decision is None within a hierarchy, where the gate is not asked."""
    organizations.check_recipient(
        db=db,
        recipient_id=data.to_organization_id,
        sender_id=organization_id,
        what="transfer a case",
    )
    case = _locked_case(db, data.case_id, organization_id)
    asked = None
    if data.transfer_request_id is not None:
        # answering a request: the owner's, still waiting, from the organisation it transfers to
        asked = requests.answer_with(
            db=db,
            keyring=keyring,
            request_id=data.transfer_request_id,
            organization_id=organization_id,
            case_id=case.id,
            to_organization_id=data.to_organization_id,
        )
    _check_none_open(db, case)
    # 403 `person_required`, `legal_basis_not_allowed`; 422: the rules of a referral's basis
    legal_basis = invocation.basis_of(
        db=db,
        policy=policy,
        legal_basis=data.legal_basis,
        justification=data.basis_justification,
        actor=actor,
        organization_id=organization_id,
    )
    held = cases.categories(db=db, case=case)
    to = data.to_organization_id
    within = organizations.same_hierarchy(db=db, a=organization_id, b=to)
    if within and legal_basis != CONSENT:
        raise BasisNotNeeded()
    decision = None
    if not within:
        decision = handover.decide(
            db=db,
            keyring=keyring,
            policy=policy,
            case=case,
            to=to,
            actor=actor,
            context="transfer",
            legal_basis=legal_basis,
        )
        if meaning(policy, decision) in STOPPED:
            audit(
                db,
                actor=actor,
                action="transfer.refused",
                object_type="case",
                object_id=case.id,
                details={
                    "decision_id": decision.id,
                    "from_organization_id": organization_id,
                    "recipient_organization_id": to,
                    "codes": decision.codes,
                    "legal_basis": legal_basis,
                },
            )
            return None, decision
    key = cases.live_key(db=db, keyring=keyring, case_id=case.id)
    if key is None:
        raise cases.CaseErased()
    transfer_id = new_id()
    now = utcnow()
    transfer = Transfer(
        id=transfer_id,
        case_id=case.id,
        from_organization_id=organization_id,
        to_organization_id=to,
        within_hierarchy=within,
        plan_ciphertext=service.seal_plan(key, transfer_id, data.plan),
        consent_ids=list(decision.consent_ids) if decision else [],
        decision_id=decision.id if decision else None,
        legal_basis=legal_basis,
        basis_justification_ciphertext=(
            service.seal_basis_justification(key, transfer_id, data.basis_justification)
            if legal_basis != CONSENT and data.basis_justification
            else None
        ),
        status=SENT,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    db.add(transfer)
    # flushed before the review or the delivery that refer to it by id
    db.flush()
    if decision is not None and hold(
        db=db, keyring=keyring, policy=policy, transfer=transfer, decision=decision, actor=actor
    ):
        transfer.status = PENDING_REVIEW
    else:
        # offered now: pushed to the recipient's webhook if it has one (`hub.delivery`), to be
        # answered by the policy's deadline
        deadlines.offered(transfer, policy, now=now)
        start_delivery(db, transfer)
    history.record_event(
        db=db,
        key=None,
        object_type=service.OBJECT_TYPE,
        object_id=transfer.id,
        actor=actor,
        organization_id=organization_id,
        from_status=None,
        to_status=transfer.status,
    )
    if asked is not None:
        # the request is answered by this transfer, in the same transaction
        requests.answered(
            db=db,
            keyring=keyring,
            request=asked,
            transfer=transfer,
            actor=actor,
            organization_id=organization_id,
        )
    categories, withheld = (
        (list(decision.permitted_categories), list(decision.withheld_categories))
        if decision
        else (held, [])
    )
    audit(
        db,
        actor=actor,
        action="transfer.created",
        object_type=service.OBJECT_TYPE,
        object_id=transfer.id,
        details={
            "case_id": case.id,
            "recipient_organization_id": to,
            "within_hierarchy": within,
            # within one IOM hierarchy: one data controller, so the gate is not asked
            "consent_required": not within,
            "status": transfer.status,
            "decision_id": transfer.decision_id,
            "review_id": transfer.review_id,
            "categories": categories,
            "withheld_categories": withheld,
            "transfer_request_id": data.transfer_request_id,
            "legal_basis": transfer.legal_basis,
        },
    )
    return transfer, decision


def hold(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    transfer: Transfer,
    decision: Decision,
    actor: str,
) -> bool:
    """Act on the gate's permit or review for a transfer being proposed or resubmitted: records
    what the gate decided, and on `review` opens a review (by `actor`, with the requester's
    justification of a legal basis) and answers True: the transfer is held. On `permit`
    answers False: the caller offers it."""
    if meaning(policy, decision) in STOPPED:
        raise ValueError("a denied transfer is neither held nor offered")
    transfer.decision_id = decision.id
    transfer.consent_ids = list(decision.consent_ids)
    if meaning(policy, decision) is not Answer.review:
        return False
    review = open_review(
        db=db,
        keyring=keyring,
        policy=policy,
        kind=REVIEW_KIND,
        object_id=transfer.id,
        case_id=transfer.case_id,
        requesting_organization_id=transfer.from_organization_id,
        requested_by=actor,
        made_by=transfer.created_by,
        decision=decision,
        basis_justification=service.basis_justification(db, keyring, transfer),
    )
    transfer.review_id = review.id
    transfer.updated_at = utcnow()
    return True


def created(*, db: Session, transfer: Transfer, decision: Decision | None) -> TransferCreated:
    """The answer to POST /v1/transfers (the sender's view; ids, codes and category names)."""
    if decision is not None:
        categories = list(decision.permitted_categories)
        withheld = list(decision.withheld_categories)
    else:
        categories = cases.categories(db=db, case=db.get_one(Case, transfer.case_id))
        withheld = []
    return TransferCreated(
        **service.summary_fields(transfer, Party.sender),
        categories=categories,
        withheld_categories=withheld,
        reasons=list(decision.reasons) if decision else [],
    )


def locked(db: Session, transfer_id: str) -> Transfer | None:
    return db.scalar(select(Transfer).where(Transfer.id == transfer_id).with_for_update())


class TransferFlow:
    """Transfers as a consent officer's decision moves them (`hub.lifecycle.decisions`)."""

    kind = REVIEW_KIND

    def locked(self, db: Session, object_id: str) -> Transfer | None:
        return locked(db, object_id)

    def ask_again(
        self,
        db: Session,
        keyring: KeyEncryptionKeys,
        policy: Policy,
        held: Transfer,
        actor: str,
        context: str,
    ) -> Decision:
        return handover.decide(
            db=db,
            keyring=keyring,
            policy=policy,
            case=db.get_one(Case, held.case_id),
            to=held.to_organization_id,
            actor=actor,
            context=context,
            legal_basis=held.legal_basis,
        )

    def move(
        self,
        db: Session,
        keyring: KeyEncryptionKeys,
        held: Transfer,
        action: str,
        party: Party,
        actor: str,
        reason_code: str | None,
    ) -> None:
        service.move(
            db=db,
            keyring=keyring,
            transfer=held,
            action=action,
            party=party,
            actor=actor,
            organization_id=None,
            reason_code=reason_code,
        )

    def record(self, held: Transfer, decision: Decision) -> None:
        held.decision_id = decision.id
        held.consent_ids = list(decision.consent_ids)

    def review_details(
        self, db: Session, keyring: KeyEncryptionKeys, held: Transfer
    ) -> dict[str, Any]:
        return {"basis_justification": service.basis_justification(db, keyring, held)}

    def release(
        self,
        db: Session,
        keyring: KeyEncryptionKeys,
        policy: Policy,
        held: Transfer,
        decision: Decision,
    ) -> None:
        # offered now: pushed to the recipient's webhook if it has one
        deadlines.offered(held, policy)
        start_delivery(db, held)


FLOW = TransferFlow()


def waiting_on(*, db: Session, series_id: str, case_id: str, lock: bool = False) -> list[Transfer]:
    """THE rule of `cancel_for_withdrawal`: the case's transfers still waiting (`pending_review`,
    `returned`, `sent`) that rest on any version of the series. The preview a person sees before
    withdrawing (`preview`) reads it too."""
    versions = set(
        db.scalars(
            select(Consent.id).where(Consent.series_id == series_id, Consent.case_id == case_id)
        )
    )
    if not versions:
        return []
    query = (
        select(Transfer)
        .where(Transfer.case_id == case_id, Transfer.status.in_(sorted(WITHDRAWABLE)))
        .order_by(Transfer.created_at, Transfer.id)
    )
    waiting = db.scalars(query.with_for_update() if lock else query).all()
    return [t for t in waiting if versions.intersection(t.consent_ids)]


def preview(*, db: Session, series_id: str, case_id: str) -> list[Effect]:
    """What withdrawing the series would do to the case's transfers (nothing changed)."""
    return [
        Effect(
            kind="transfer",
            id=t.id,
            to_organization_id=t.to_organization_id,
            status=t.status,
            cancelled=True,
            recipient_told=False,
        )
        for t in waiting_on(db=db, series_id=series_id, case_id=case_id)
    ]


def cancel_for_withdrawal(
    *, db: Session, runtime: Services, consent_id: str, series_id: str, case_id: str
) -> list[str]:
    """Cancel the transfers `waiting_on` the withdrawn series (reason `consent_withdrawn`);
    returns their ids. A transfer within a hierarchy rests on no consent and is left alone; so
    is one already answered."""
    cancelled = []
    for transfer in waiting_on(db=db, series_id=series_id, case_id=case_id, lock=True):
        service.move(
            db=db,
            keyring=runtime.keyring,
            transfer=transfer,
            action="withdraw_consent",
            party=Party.system,
            actor=reasons.SYSTEM_ACTOR,
            organization_id=None,
            reason_code=reasons.CONSENT_WITHDRAWN,
        )
        cancelled.append(transfer.id)
    return cancelled
