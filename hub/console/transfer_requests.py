"""Transfer requests in the console: the owner's incoming requests (status, deadline) and its
answer (a transfer proposed on the transfer proposal page, prefilled, or a refusal with a coded
reason); the requester's form to ask for a case, and the state of what it asked.

Every rule is the transfer requests' services, as the API uses them: naming the case and the
same answer either way (`service.create`, as POST /v1/transfer-requests), who sees a request
(`service.get`), what each side reads (`service.read`), the moves (`service.refuse`,
`service.withdraw`). Answering with a transfer is the transfer proposal page
(`hub.console.transfers`, with the request's id), which calls `sending.create` as the API does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound, Problem
from hub.api.vocabulary import urgencies
from hub.cases.models import Case
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.lifecycle import Party
from hub.organizations import service as organizations
from hub.transfers.requests import service
from hub.transfers.requests.lifecycle import REQUESTED
from hub.transfers.requests.models import TransferRequest
from hub.transfers.requests.schemas import REASON_MAX, REF_MAX, TransferRequestCreate

router = APIRouter(
    prefix="/console/transfer-requests", route_class=ConsoleRoute, include_in_schema=False
)

SCOPE = "transfers:write"
READ_SCOPE = "transfers:read"
LIST_LIMIT = 100
# the problems a move can meet that a person can act on; anything else is the error page
REFUSALS = ("invalid_transition", "reason_required")

CHOOSE_OWNER = N_("Choose the organisation that holds the case.")
WRITE_REFERENCE = N_("Write the case's reference as the organisation gave it to you.")
WRITE_WHY = N_("Write why you ask for the case.")
TOO_LONG = N_("This is too long (%(num)s characters at most).")
CHOOSE_REFUSAL = N_("Choose the reason for refusing.")
NO_SUCH_CASE = N_("None of your open cases has this reference.")


def _visible(
    db: DbSession, person: CurrentPerson, request_id: str, *, lock: bool = False
) -> TransferRequest:
    return service.get(
        db=db, request_id=request_id, organization_id=person.principal.organization_id, lock=lock
    )


def _owners(db: DbSession, person: CurrentPerson) -> list[Any]:
    own = person.principal.organization_id
    return [o for o in organizations.get_all(db=db) if o.id != own]


# -- the lists ----------------------------------------------------------------------------------
@router.get("")
def requests_page(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    """Requests the organisation was asked (waiting first, by deadline), and those it made."""
    person.require(READ_SCOPE)
    organization_id = person.principal.organization_id
    received, _ = service.get_page(
        db=db,
        organization_id=organization_id,
        role="received",
        statuses=None,
        cursor=None,
        limit=LIST_LIMIT,
    )
    received.sort(key=lambda r: (r.status != REQUESTED, not r.overdue, r.answer_by))
    sent, _ = service.get_page(
        db=db,
        organization_id=organization_id,
        role="sent",
        statuses=None,
        cursor=None,
        limit=LIST_LIMIT,
    )
    names = organization_names(
        db,
        [r.requester_organization_id for r in received] + [r.owner_organization_id for r in sent],
    )
    return page(
        request,
        person,
        "transfer_requests.html",
        db=db,
        received=received,
        sent=sent,
        names=names,
        may_ask=person.may(SCOPE),
    )


# -- asking -------------------------------------------------------------------------------------
def _ask_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
    values: dict[str, str],
    errors: list[tuple[str, str]] | None = None,
) -> Response:
    errors = errors or []
    return page(
        request,
        person,
        "transfer_request_new.html",
        db=db,
        status_code=400 if errors else 200,
        owners=_owners(db, person),
        urgencies=urgencies(runtime.policy),
        values=values,
        errors=errors,
        error_for={anchor.split("-", 1)[0]: message for anchor, message in errors},
        limits={"reason": REASON_MAX, "reference": REF_MAX},
    )


@router.get("/new")
def ask_form(
    request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    person.require(SCOPE)
    return _ask_page(request, person, db, runtime, {"urgency": "normal"})


@router.post("/new")
def ask(
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    values = {
        "owner": text_field(form, "owner_organization_id", max_length=64),
        "reference": text_field(form, "case_ref", max_length=REF_MAX + 1),
        "reason": text_field(form, "reason", max_length=REASON_MAX + 1),
        "urgency": text_field(form, "urgency", max_length=16) or "normal",
    }
    gettext = person.gettext
    owners = _owners(db, person)
    errors: list[tuple[str, str]] = []
    if values["owner"] not in {o.id for o in owners}:
        errors.append((f"owner-{owners[0].id if owners else ''}", gettext(CHOOSE_OWNER)))
    for name, missing, limit in (
        ("reference", WRITE_REFERENCE, REF_MAX),
        ("reason", WRITE_WHY, REASON_MAX),
    ):
        if not values[name]:
            errors.append((name, gettext(missing)))
        elif len(values[name]) > limit:
            errors.append((name, gettext(TOO_LONG) % {"num": limit}))
    if values["urgency"] not in urgencies(runtime.policy):
        values["urgency"] = "normal"
    if errors:
        return _ask_page(request, person, db, runtime, values, errors)
    try:
        data = TransferRequestCreate(
            owner_organization_id=values["owner"],
            case_ref=values["reference"],
            reason=values["reason"],
            urgency=values["urgency"],
        )
    except ValidationError:
        raise NotFound() from None
    made = service.create(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        actor=person.actor,
        organization_id=person.principal.organization_id,
        data=data,
    )
    return RedirectResponse(f"/console/transfer-requests/{made.id}?made=1", status_code=303)


# -- one request ----------------------------------------------------------------------------------
@router.get("/{request_id}")
def request_page(
    request_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(READ_SCOPE)
    organization_id = person.principal.organization_id
    asked = _visible(db, person, request_id)
    read = service.read(
        db=db, keyring=runtime.keyring, request=asked, organization_id=organization_id
    )
    owner = service.party_of(asked, organization_id) is Party.recipient
    return page(
        request,
        person,
        "transfer_request.html",
        db=db,
        item=read,
        owner=owner,
        names=organization_names(db, [read.requester_organization_id, read.owner_organization_id]),
        made=request.query_params.get("made") == "1",
        moved=request.query_params.get("moved", "") in ("refuse", "withdraw"),
        not_found=request.query_params.get("case") == "none",
        may_move=person.may(SCOPE),
        own_case_open=_own_case(db, asked, organization_id) if owner else None,
    )


def _own_case(db: DbSession, asked: TransferRequest, organization_id: str) -> str | None:
    """The matched case, while it is still the organisation's and not erased."""
    if asked.case_id is None:
        return None
    return db.scalar(
        select(Case.id).where(
            Case.id == asked.case_id,
            Case.owner_organization_id == organization_id,
            Case.erased_at.is_(None),
        )
    )


@router.post("/{request_id}/propose")
def propose(
    request_id: str,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
) -> Response:
    """An unmatched request: the owner names the case by its reference, then proposes the
    transfer on the transfer proposal page (prefilled)."""
    person.require(SCOPE)
    organization_id = person.principal.organization_id
    asked = _visible(db, person, request_id)
    if service.party_of(asked, organization_id) is not Party.recipient:
        raise NotFound()
    reference = text_field(form, "reference", max_length=REF_MAX)
    case_id = db.scalar(
        select(Case.id).where(
            Case.owner_organization_id == organization_id,
            Case.external_ref == reference,
            Case.erased_at.is_(None),
        )
    )
    if case_id is None:
        return RedirectResponse(
            f"/console/transfer-requests/{asked.id}?case=none#propose", status_code=303
        )
    return RedirectResponse(
        f"/console/cases/{case_id}/transfer?request={asked.id}", status_code=303
    )


def _refuse_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
    asked: TransferRequest,
    *,
    chosen: str = "",
    text: str = "",
    errors: list[tuple[str, str]] | None = None,
) -> Response:
    errors = errors or []
    summary = service.summary(db, asked, person.principal.organization_id)
    if "refuse" not in summary.allowed_actions:
        return RedirectResponse(f"/console/transfer-requests/{asked.id}", status_code=303)
    return page(
        request,
        person,
        "transfer_request_refuse.html",
        db=db,
        status_code=400 if errors else 200,
        item=summary,
        codes=list(runtime.policy.vocabularies.transfer_request_refusals),
        chosen=chosen,
        text=text,
        text_max=REASON_MAX,
        errors=errors,
    )


@router.get("/{request_id}/refuse")
def refuse_form(
    request_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    return _refuse_page(request, person, db, runtime, _visible(db, person, request_id))


@router.post("/{request_id}/refuse")
def refuse(
    request_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    asked = _visible(db, person, request_id, lock=True)
    codes = runtime.policy.vocabularies.transfer_request_refusals
    chosen = text_field(form, "refusal_code", max_length=64)
    text = text_field(form, "reason", max_length=REASON_MAX + 1)
    errors: list[tuple[str, str]] = []
    if chosen not in codes:
        errors.append((f"refusal_code-{codes[0]}", person.gettext(CHOOSE_REFUSAL)))
    if len(text) > REASON_MAX:
        errors.append(("reason", person.gettext(TOO_LONG) % {"num": REASON_MAX}))
    if errors:
        return _refuse_page(
            request, person, db, runtime, asked, chosen=chosen, text=text, errors=errors
        )
    try:
        service.refuse(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            request=asked,
            actor=person.actor,
            organization_id=person.principal.organization_id,
            refusal_code=chosen,
            text=text or None,
        )
    except Problem as problem:
        if problem.code not in REFUSALS:
            raise
    return RedirectResponse(f"/console/transfer-requests/{asked.id}?moved=refuse", status_code=303)


@router.post("/{request_id}/withdraw")
def withdraw(
    request_id: str,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    asked = _visible(db, person, request_id, lock=True)
    try:
        service.withdraw(
            db=db,
            keyring=runtime.keyring,
            request=asked,
            actor=person.actor,
            organization_id=person.principal.organization_id,
            text=None,
        )
    except Problem as problem:
        if problem.code not in REFUSALS:
            raise
    return RedirectResponse(
        f"/console/transfer-requests/{asked.id}?moved=withdraw", status_code=303
    )
