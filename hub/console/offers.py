"""Case transfers offered to the person's organisation: the list, one offer with its plan and the
case's minimal summary (nothing more until it is accepted), and the answer: accept or reject.

Every rule is the transfers services', as the API uses them: who sees a transfer
(`service.get`), what the recipient may read of an offer now and its accounting
(`reading.read`, as GET /v1/transfers/{id}), acceptance and the move of the case
(`handover.accept`, as POST /v1/transfers/{id}/accept), rejection (`service.party_move`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound, Problem
from hub.console.errors import ConsoleRoute
from hub.console.history import parties, since
from hub.console.labels import N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.lifecycle import Party
from hub.transfers import handover, reading, service
from hub.transfers.lifecycle import FINAL, SENT
from hub.transfers.models import Transfer
from hub.transfers.schemas import TEXT_MAX, Role, TransferSummary

router = APIRouter(prefix="/console/offers", route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "transfers:write"
LIST_LIMIT = 100
ANSWERED = sorted({*FINAL, "accepted"})
WRITE_REASON = N_("Write the reason: the sender reads it.")
TOO_LONG = N_("This is too long (2,000 characters at most).")


def _offered(
    db: DbSession, person: CurrentPerson, transfer_id: str, *, lock: bool = False
) -> Transfer:
    """The transfer if it was offered to the person's organisation (404 otherwise, also to
    its sender: this is the recipient's side)."""
    organization_id = person.principal.organization_id
    transfer = service.get(
        db=db, transfer_id=transfer_id, organization_id=organization_id, lock=lock
    )
    if service.party_of(transfer, organization_id) is not Party.recipient:
        raise NotFound("transfer")
    return transfer


def _summary(transfer: Transfer) -> TransferSummary:
    return service.summary(transfer, Party.recipient)


@router.get("")
def offers(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    person.require(SCOPE)
    answered = request.query_params.get("show") == "answered"
    items, _ = service.get_page(
        db=db,
        organization_id=person.principal.organization_id,
        role=Role.received,
        statuses=ANSWERED if answered else [SENT],
        cursor=None,
        limit=LIST_LIMIT,
    )
    if not answered:
        items.reverse()  # the longest waiting first
    return page(
        request,
        person,
        "offers.html",
        db=db,
        items=items,
        answered=answered,
        names=organization_names(db, [i.from_organization_id for i in items]),
    )


@router.get("/{transfer_id}")
def offer(
    transfer_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """The offer as the recipient may read it now: the gate asked, the read accounted for."""
    person.require(SCOPE)
    transfer = _offered(db, person, transfer_id)
    read = reading.read(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        transfer=transfer,
        organization_id=person.principal.organization_id,
        actor=person.actor,
    )
    # its history as GET /v1/transfers/{id}/events gives it to the recipient
    events = reading.events(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        transfer=transfer,
        organization_id=person.principal.organization_id,
        actor=person.actor,
    )
    return page(
        request,
        person,
        "offer.html",
        db=db,
        transfer=read,
        events=events,
        names=organization_names(db, parties(events, read.from_organization_id)),
        since=since(person.language),
    )


@router.post("/{transfer_id}/accept")
def accept(
    transfer_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    transfer = _offered(db, person, transfer_id, lock=True)
    try:
        outcome = handover.accept(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            transfer=transfer,
            actor=person.actor,
            organization_id=person.principal.organization_id,
        )
    except Problem as problem:
        if problem.code != "invalid_transition":
            raise
        return _refused(request, person, db, transfer, "accept", None)
    if isinstance(outcome, handover.Refused):
        # the gate's decision (and a cancellation, for a consent withdrawn) are kept: this
        # page answers normally, so the request's transaction commits them, as the API's does
        return _refused(
            request, person, db, transfer, "accept", outcome.code, status_code=outcome.status
        )
    return RedirectResponse(f"/console/offers/{transfer.id}/done?move=accept", status_code=303)


def _refused(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    transfer: Transfer,
    action: str,
    code: str | None,
    *,
    status_code: int = 409,
) -> Response:
    """Refused by the lifecycle (the status moved on: `code` None) or by the consent gate."""
    return page(
        request,
        person,
        "offer_refused.html",
        db=db,
        status_code=status_code,
        transfer=_summary(transfer),
        action=action,
        code=code,
    )


def _reject_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    transfer: Transfer,
    *,
    text: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    summary = _summary(transfer)
    if "reject" not in summary.allowed_actions:
        return _refused(request, person, db, transfer, "reject", None)
    return page(
        request,
        person,
        "offer_reject.html",
        db=db,
        status_code=status_code,
        transfer=summary,
        text=text,
        text_max=TEXT_MAX,
        errors=[("reason", error)] if error else [],
    )


@router.get("/{transfer_id}/reject")
def reject_form(
    transfer_id: str, request: Request, person: CurrentPerson, db: DbSession
) -> Response:
    person.require(SCOPE)
    return _reject_page(request, person, db, _offered(db, person, transfer_id))


@router.post("/{transfer_id}/reject")
def reject(
    transfer_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    transfer = _offered(db, person, transfer_id, lock=True)
    text = text_field(form, "reason", max_length=TEXT_MAX + 1)
    error = WRITE_REASON if not text else TOO_LONG if len(text) > TEXT_MAX else None
    if error:
        message = person.gettext(error)
        return _reject_page(
            request, person, db, transfer, text=text, error=message, status_code=400
        )
    try:
        service.party_move(
            db=db,
            keyring=runtime.keyring,
            transfer=transfer,
            action="reject",
            actor=person.actor,
            organization_id=person.principal.organization_id,
            text=text,
        )
    except Problem as problem:
        if problem.code not in ("invalid_transition", "reason_required"):
            raise
        return _refused(request, person, db, transfer, "reject", None)
    return RedirectResponse(f"/console/offers/{transfer.id}/done?move=reject", status_code=303)


@router.get("/{transfer_id}/done")
def done(transfer_id: str, request: Request, person: CurrentPerson, db: DbSession) -> Response:
    person.require(SCOPE)
    transfer = _offered(db, person, transfer_id)
    chosen = request.query_params.get("move")
    # the page confirms an answer only if the transfer is where that answer leads
    made = {"accept": "completed", "reject": "rejected"}.get(str(chosen)) == transfer.status
    return page(
        request,
        person,
        "offer_done.html",
        db=db,
        transfer=_summary(transfer),
        action=chosen if made else None,
        # what the case file brought (from the accounting of the handover)
        released=service.released(db, transfer) if transfer.status == "completed" else None,
    )
