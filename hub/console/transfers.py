"""The sending office's case transfers: propose one from the case's page (the receiving
organisation and the transfer plan), then follow it: its status, its plan, what it hands over,
a consent officer's answer, its history, and the sender's moves (cancel, resubmit).

Every rule is the transfers services', as the API uses them: the proposal is `sending.create`
(as POST /v1/transfers: the consent gate's answer, sent, held or refused, is its own), who sees
a transfer (`service.get`), the transfer as its sender reads it and its history
(`reading.read`, `reading.events`, as GET /v1/transfers/{id} and /events), the moves
(`service.party_move`, `resubmission.resubmit`, as POST /v1/transfers/{id}/<move>). Which moves
the sender has is the lifecycle table's (`hub.transfers.lifecycle.MOVES`), never a list here.
The recipient's side is `hub.console.offers`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.idempotency import Idempotency
from hub.api.problems import NotFound, Problem
from hub.cases import service as cases
from hub.cases.models import Case
from hub.consent.models import GateDecision
from hub.console import refer_basis
from hub.console.errors import ConsoleRoute
from hub.console.history import parties, reasons_with, since
from hub.console.labels import N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.lifecycle import Party
from hub.organizations import service as organizations
from hub.organizations.models import Organization
from hub.policy.rules import Effect
from hub.transfers import reading, resubmission, sending, service
from hub.transfers.lifecycle import MOVES, PENDING_REVIEW
from hub.transfers.models import Transfer
from hub.transfers.requests import service as transfer_requests
from hub.transfers.schemas import (
    CONTACT_MAX,
    NEED_MAX,
    NEEDS_MAX,
    REASON_MAX,
    TEXT_MAX,
    TransferCreate,
    TransferPlan,
    TransferResubmit,
)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "transfers:write"
READ_SCOPE = "transfers:read"
# the sender's moves, from the table; those that need words have a page of their own
SENDER_MOVES = tuple(a for a, m in MOVES.items() if m.party is Party.sender)
WORDED = {a: MOVES[a].says for a in SENDER_MOVES if MOVES[a].reason_required}
# the problems a move can meet that a person can act on; anything else is the error page
REFUSALS = ("invalid_transition", "reason_required")

CHOOSE_RECIPIENT = N_("Choose the organisation that should take on the case.")
WRITE_WHY = N_("Write why the case is transferred.")
WRITE_NEEDS = N_("Write at least one open need, one per line.")
TOO_MANY_NEEDS = N_("Write at most %(num)s open needs.")
WRITE_RISKS = N_("Write the risks, or “None known”.")
WRITE_CONTACT = N_("Write whom the receiving case worker can contact.")
TOO_LONG = N_("This is too long (%(num)s characters at most).")
WRITE_REASON = N_("Write the reason: the recipient reads it.")
BASIS_NOT_NEEDED = N_(
    "Within your IOM hierarchy no consent is needed, so no legal basis either: choose “None”."
)
# a transfer answering a request the request's rules refuse
ANSWER_REFUSED = {
    "invalid_transition": N_("The transfer request is no longer waiting for an answer."),
    "transfer_request_mismatch": N_(
        "A transfer answering a request goes to the organisation that asked, for the case it "
        "asked for."
    ),
}


# -- finding things ---------------------------------------------------------------------------
def _own_case(db: DbSession, person: CurrentPerson, case_id: str) -> Case:
    # the office's own case, or 404 (the tenant condition is the cases service's)
    return cases.get(db=db, case_id=case_id, organization_id=person.principal.organization_id)


def _sent(
    db: DbSession, person: CurrentPerson, transfer_id: str, *, lock: bool = False
) -> Transfer:
    """The transfer if the person's organisation proposed it (404 otherwise, also to its
    recipient: its side is the offers' pages)."""
    organization_id = person.principal.organization_id
    transfer = service.get(
        db=db, transfer_id=transfer_id, organization_id=organization_id, lock=lock
    )
    if service.party_of(transfer, organization_id) is not Party.sender:
        raise NotFound("transfer")
    return transfer


def _recipients(db: DbSession, person: CurrentPerson) -> list[Organization]:
    """The directory's organisations, the office itself left out (the API's own check,
    `organizations.check_recipient`, refuses the rest)."""
    own = person.principal.organization_id
    return [o for o in organizations.get_all(db=db) if o.id != own]


# -- 1. the proposal ----------------------------------------------------------------------------
class _Proposal:
    """The form as posted: the recipient and the plan (open needs one per line), and the
    transfer request it answers, if any."""

    def __init__(self, form: FormData) -> None:
        self.recipient = text_field(form, "to_organization_id", max_length=64)
        self.request_id = text_field(form, "transfer_request_id", max_length=64)
        self.reason = text_field(form, "reason", max_length=REASON_MAX + 1)
        self.needs_text = text_field(form, "open_needs", max_length=(NEED_MAX + 1) * NEEDS_MAX)
        self.risks = text_field(form, "risks", max_length=REASON_MAX + 1)
        self.contact = text_field(form, "handover_contact", max_length=CONTACT_MAX + 1)
        # outside the hierarchy, on a legal basis instead of consent (`refer_basis`'s words),
        # with the requester's reasons; none chosen: the transfer rests on consent
        self.legal_basis = text_field(form, "legal_basis", max_length=40)
        self.basis_justification = text_field(
            form, "basis_justification", max_length=refer_basis.JUSTIFICATION_MAX + 1
        )

    @classmethod
    def empty(cls) -> _Proposal:
        return cls(FormData())

    def digest(self) -> str:
        """What identifies the transfer asked for: a send key replays only for the same one."""
        fields = [
            self.recipient,
            self.reason,
            self.needs,
            self.risks,
            self.contact,
            self.request_id,
            self.legal_basis,
            self.basis_justification,
        ]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()

    @property
    def needs(self) -> list[str]:
        return [line.strip() for line in self.needs_text.splitlines() if line.strip()]

    def errors(
        self, person: CurrentPerson, recipients: list[Organization]
    ) -> list[tuple[str, str]]:
        gettext = person.gettext
        errors: list[tuple[str, str]] = []
        if self.recipient not in {o.id for o in recipients}:
            first = recipients[0].id if recipients else ""
            errors.append((f"recipient-{first}", gettext(CHOOSE_RECIPIENT)))

        def text(field: str, value: str, missing: str, limit: int) -> None:
            if not value:
                errors.append((field, gettext(missing)))
            elif len(value) > limit:
                errors.append((field, gettext(TOO_LONG) % {"num": limit}))

        text("reason", self.reason, WRITE_WHY, REASON_MAX)
        needs = self.needs
        if not needs:
            errors.append(("open_needs", gettext(WRITE_NEEDS)))
        elif len(needs) > NEEDS_MAX:
            errors.append(("open_needs", gettext(TOO_MANY_NEEDS) % {"num": NEEDS_MAX}))
        elif any(len(need) > NEED_MAX for need in needs):
            errors.append(("open_needs", gettext(TOO_LONG) % {"num": NEED_MAX}))
        text("risks", self.risks, WRITE_RISKS, REASON_MAX)
        text("handover_contact", self.contact, WRITE_CONTACT, CONTACT_MAX)
        if self.legal_basis and len(self.basis_justification) > refer_basis.JUSTIFICATION_MAX:
            errors.append(("basis_justification", gettext(refer_basis.JUSTIFICATION_TOO_LONG)))
        return errors

    def request(self, case: Case) -> TransferCreate:
        plan = TransferPlan(
            reason=self.reason,
            open_needs=self.needs,
            risks=self.risks,
            handover_contact=self.contact,
        )
        return TransferCreate(
            case_id=case.id,
            to_organization_id=self.recipient,
            plan=plan,
            transfer_request_id=self.request_id or None,
            legal_basis=self.legal_basis or None,
            basis_justification=(self.basis_justification or None) if self.legal_basis else None,
        )


def _form_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
    case: Case,
    proposal: _Proposal,
    *,
    errors: list[tuple[str, str]] | None = None,
    open_transfer: str | None = None,
) -> Response:
    errors = errors or []
    answering = None
    if proposal.request_id:
        # the request it answers, if it is one the organisation was asked (404 otherwise)
        asked = transfer_requests.get(
            db=db,
            request_id=proposal.request_id,
            organization_id=person.principal.organization_id,
        )
        if asked.owner_organization_id != person.principal.organization_id:
            raise NotFound()
        answering = asked
    return page(
        request,
        person,
        "transfer_new.html",
        db=db,
        status_code=400 if errors or open_transfer else 200,
        case=case,
        recipients=_recipients(db, person),
        proposal=proposal,
        errors=errors,
        # the message by field, beside it (`recipient-<id>` → `recipient`)
        error_for={anchor.split("-", 1)[0]: message for anchor, message in errors},
        open_transfer=open_transfer,
        answering=answering,
        limits={"reason": REASON_MAX, "needs": NEEDS_MAX, "contact": CONTACT_MAX},
        # the bases the person's role may invoke, and what each may hand over
        bases=refer_basis.bases_for(runtime.policy, person.user.role),
        basis_categories={
            code: list(rule.categories) for code, rule in runtime.policy.legal_bases.items()
        },
        justification_max=refer_basis.JUSTIFICATION_MAX,
        # a fresh key per form: sending it twice (a double click, a resent form) proposes once
        send_key=secrets.token_urlsafe(24),
    )


@router.get("/console/cases/{case_id}/transfer")
def proposal_form(
    case_id: str, request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    person.require(SCOPE)
    case = _own_case(db, person, case_id)
    proposal = _Proposal.empty()
    request_id = request.query_params.get("request", "")[:64]
    if request_id:
        # answering a transfer request: the requesting organisation chosen
        asked = transfer_requests.get(
            db=db, request_id=request_id, organization_id=person.principal.organization_id
        )
        proposal.request_id = asked.id
        proposal.recipient = asked.requester_organization_id
    return _form_page(request, person, db, runtime, case, proposal)


@router.post("/console/cases/{case_id}/transfer")
def propose(
    case_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    case = _own_case(db, person, case_id)
    proposal = _Proposal(form)
    errors = proposal.errors(person, _recipients(db, person))
    if errors:
        return _form_page(request, person, db, runtime, case, proposal, errors=errors)
    try:
        data = proposal.request(case)
    except ValidationError:  # what the checks above let through is the schema's to refuse
        raise NotFound() from None
    # the API's idempotency records, under the person's own name: a second post of the same
    # form is answered with the first one's transfer
    once = Idempotency(
        text_field(form, "send_key", max_length=64) or None,
        "POST",
        request.url.path,
        proposal.digest(),
    )
    sender = f"user:{person.user.id}"
    if (replay := once.replay(db=db, client_id=sender)) is not None:
        made = json.loads(replay.body)["id"]
        return RedirectResponse(f"/console/transfers/{made}?proposed=1", status_code=303)
    try:
        transfer, decision = sending.create(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor=person.actor,
            organization_id=person.principal.organization_id,
            data=data,
        )
    except Problem as problem:
        if problem.code in ANSWER_REFUSED:
            # the request is answered already, or names another case or organisation
            message = person.gettext(ANSWER_REFUSED[problem.code])
            return _form_page(
                request,
                person,
                db,
                runtime,
                case,
                proposal,
                errors=[("transfer_request", message)],
            )
        if basis_refusal := _basis_refused(problem, proposal):
            field, words = basis_refusal
            errors = [(field, person.gettext(words))]
            return _form_page(request, person, db, runtime, case, proposal, errors=errors)
        if problem.code != "transfer_open":
            raise
        # one open transfer per case (also what a second post of this form meets)
        open_id = str(problem.extra.get("transfer_id", "")) or None
        return _form_page(request, person, db, runtime, case, proposal, open_transfer=open_id)
    if transfer is None:
        # refused by the gate: its decision and the audit entry are kept (this page answers
        # normally, so the request's transaction commits them, as the API's 422 does)
        return page(
            request,
            person,
            "transfer_refused.html",
            db=db,
            status_code=422,
            case=case,
            recipient_name=organization_names(db, [proposal.recipient])[proposal.recipient],
            reasons=_why(runtime, decision.reasons if decision else (), Effect.deny),
        )
    created = sending.created(db=db, transfer=transfer, decision=decision)
    once.remember(
        db=db,
        client_id=sender,
        status_code=202 if transfer.status == PENDING_REVIEW else 201,
        body=created,
    )
    # post, redirect, get: reloading the page does not propose again
    return RedirectResponse(f"/console/transfers/{transfer.id}?proposed=1", status_code=303)


def _basis_refused(problem: Problem, proposal: _Proposal) -> tuple[str, str] | None:
    """The transfer service's refusal of the legal basis itself, as (field, words), shown
    beside the basis (the rules are `hub.legal_bases.invocation`'s)."""
    if not proposal.legal_basis:
        return None
    if problem.code == "legal_basis_not_needed":
        return ("legal_basis", BASIS_NOT_NEEDED)
    if problem.code not in refer_basis.REFUSALS:
        return None
    if problem.code == "unknown_value" and problem.extra.get("field") != "legal_basis":
        return None
    return refer_basis.REFUSALS[problem.code]


def _why(runtime: CurrentRuntime, reasons: Any, effect: Effect) -> list[dict[str, Any]]:
    """The gate's reasons with this effect (all of them if none has it: never an empty why)."""
    found = reasons_with(runtime.policy, list(reasons), effect)
    return [dict(r) for r in (found or reasons)]


# -- 2. following it ----------------------------------------------------------------------------
@router.get("/console/transfers/{transfer_id}")
def transfer_page(
    transfer_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """The transfer as its sender reads it through the API, with its history and the moves
    the lifecycle table leaves the sender now."""
    person.require(READ_SCOPE)
    organization_id = person.principal.organization_id
    transfer = _sent(db, person, transfer_id)
    read = reading.read(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        transfer=transfer,
        organization_id=organization_id,
        actor=person.actor,
    )
    events = reading.events(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        transfer=transfer,
        organization_id=organization_id,
        actor=person.actor,
    )
    held_for: list[dict[str, Any]] = []
    if read.status == PENDING_REVIEW and read.decision_id:
        decision = db.get(GateDecision, read.decision_id)
        held_for = _why(runtime, decision.reasons if decision else (), Effect.review)
    case = db.get_one(Case, read.case_id)
    moved = request.query_params.get("moved", "")
    return page(
        request,
        person,
        "transfer.html",
        db=db,
        transfer=read,
        events=events,
        reference=case.external_ref,
        # the case's page while the case is still the office's
        own_case=case.owner_organization_id == organization_id and case.erased_at is None,
        names=organization_names(db, parties(events, read.to_organization_id, organization_id)),
        since=since(person.language),
        held_for=held_for,
        proposed=request.query_params.get("proposed") == "1",
        # a move is confirmed only if it was one of the sender's
        moved=moved if moved in SENDER_MOVES else None,
        worded=WORDED,
        may_move=person.may(SCOPE),
    )


# -- 3. the sender's moves ---------------------------------------------------------------------
def _refused(
    request: Request, person: CurrentPerson, db: DbSession, transfer: Transfer, action: str
) -> Response:
    """A move the transfer's status does not allow (any more): said plainly, with its status."""
    return page(
        request,
        person,
        "transfer_move_refused.html",
        db=db,
        status_code=409,
        transfer=service.summary(transfer, Party.sender),
        action=action,
    )


def _words_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    transfer: Transfer,
    action: str,
    *,
    text: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    summary = service.summary(transfer, Party.sender)
    if action not in summary.allowed_actions:
        return _refused(request, person, db, transfer, action)
    return page(
        request,
        person,
        "transfer_words.html",
        db=db,
        status_code=status_code,
        transfer=summary,
        action=action,
        field=WORDED[action],
        text=text,
        text_max=TEXT_MAX,
        errors=[(WORDED[action], error)] if error else [],
    )


@router.get("/console/transfers/{transfer_id}/{action}")
def words(
    transfer_id: str, action: str, request: Request, person: CurrentPerson, db: DbSession
) -> Response:
    """The page of a move that needs words: cancel (its reason)."""
    person.require(SCOPE)
    if action not in WORDED:
        raise NotFound()
    return _words_page(request, person, db, _sent(db, person, transfer_id), action)


@router.post("/console/transfers/{transfer_id}/{action}")
def move(
    transfer_id: str,
    action: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    if action not in SENDER_MOVES:
        raise NotFound()
    transfer = _sent(db, person, transfer_id, lock=True)
    text = None
    if action in WORDED:
        text = text_field(form, WORDED[action], max_length=TEXT_MAX + 1)
        error = WRITE_REASON if not text else None
        message = person.gettext(error) if error else None
        if len(text) > TEXT_MAX:
            message = person.gettext(TOO_LONG) % {"num": TEXT_MAX}
        if message:
            return _words_page(
                request, person, db, transfer, action, text=text, error=message, status_code=400
            )
    organization_id = person.principal.organization_id
    try:
        if action == "resubmit":
            # the plan as it stands; the gate is asked again as when it was proposed
            resubmission.resubmit(
                db=db,
                keyring=runtime.keyring,
                policy=runtime.policy,
                transfer=transfer,
                actor=person.actor,
                organization_id=organization_id,
                data=TransferResubmit(),
            )
        else:
            service.party_move(
                db=db,
                keyring=runtime.keyring,
                transfer=transfer,
                action=action,
                actor=person.actor,
                organization_id=organization_id,
                text=text,
            )
    except Problem as problem:
        if problem.code not in REFUSALS:
            raise
        # nothing was written: the lifecycle table refuses before any change
        return _refused(request, person, db, transfer, action)
    return RedirectResponse(f"/console/transfers/{transfer.id}?moved={action}", status_code=303)
