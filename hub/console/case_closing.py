"""Closing and reopening a case at the console: first what closing will do (the case's open
referrals and transfers, each to cancel or keep, and the transfer requests naming it still
waiting, each to refuse or withdraw, or keep), the coded reason and a note, then the
confirmation.

The open requests are `hub.closure.service.open_requests`; confirming is
`hub.closure.service.close`, the function `POST /v1/cases/{id}/close` calls, with the same
choices; reopening is `hub.closure.service.reopen`. Nothing personal travels in an address:
the case is named by its id, the note goes in the POST body.
"""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import Conflict
from hub.cases import service as cases
from hub.cases.models import Case
from hub.closure import service as closure
from hub.closure.schemas import Choice, OpenRequest
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.referrals.models import Referral

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "cases:write"
NOTE_MAX = 2000
CHOICES: tuple[Choice, ...] = ("cancel", "keep")
CHOOSE_REASON = N_("Choose why the case is closed.")
CHOOSE_REFERRAL = N_("Choose whether to cancel or keep this referral.")
CHOOSE_TRANSFER = N_("Choose whether to cancel or keep this case transfer.")
CHOOSE_RECEIVED_REQUEST = N_("Choose whether to refuse or keep this transfer request.")
CHOOSE_MADE_REQUEST = N_("Choose whether to withdraw or keep this transfer request.")
NOT_CANCELLABLE = N_("This request can no longer be cancelled: keep it.")
NOTE_TOO_LONG = N_("The note is too long (2,000 characters at most).")


def _case(db: DbSession, person: CurrentPerson, case_id: str) -> Case:
    case = cases.get(db=db, case_id=case_id[:32], organization_id=person.principal.organization_id)
    db.refresh(case, with_for_update=True)
    return case


def _back(case: Case, outcome: str = "") -> Response:
    # after a redirect, reloading the case's page moves nothing again
    suffix = f"?{outcome}=1" if outcome else ""
    return RedirectResponse(f"/console/cases/{case.id}{suffix}", status_code=303)


def _close_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
    case: Case,
    *,
    requests: list[OpenRequest],
    reason: str = "",
    note: str = "",
    chosen: dict[str, str] | None = None,
    errors: list[tuple[str, str]] | None = None,
) -> Response:
    services = {
        r.id: r.service_type
        for r in db.scalars(select(Referral).where(Referral.id.in_([q.id for q in requests])))
    }
    return page(
        request,
        person,
        "case_close.html",
        db=db,
        status_code=400 if errors else 200,
        case=case,
        requests=requests,
        services=services,
        names=organization_names(
            db,
            [q.to_organization_id for q in requests]
            + [q.from_organization_id for q in requests if q.from_organization_id],
        ),
        reasons=runtime.policy.vocabularies.closure_reasons,
        reason=reason,
        note=note,
        note_max=NOTE_MAX,
        chosen=chosen or {},
        choices=CHOICES,
        errors=errors or [],
        error_for={anchor.rsplit("-", 1)[0]: message for anchor, message in errors or []},
    )


def _choose(q: OpenRequest) -> str:
    """The question left unanswered, in the words of the request's kind."""
    if q.kind == "referral":
        return CHOOSE_REFERRAL
    if q.kind == "transfer":
        return CHOOSE_TRANSFER
    return CHOOSE_RECEIVED_REQUEST if q.received else CHOOSE_MADE_REQUEST


@router.get("/console/cases/{case_id}/close")
def check_closing(
    case_id: str, request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    """What closing will do, and the form that confirms it (nothing is changed yet)."""
    person.require(SCOPE)
    case = _case(db, person, case_id)
    if case.erased_at is not None or case.status != cases.OPEN:
        return _back(case)
    requests = closure.open_requests(db=db, case=case)
    return _close_page(request, person, db, runtime, case, requests=requests)


@router.post("/console/cases/{case_id}/close")
def close(
    case_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    case = _case(db, person, case_id)
    if case.erased_at is not None or case.status != cases.OPEN:
        return _back(case)
    requests = closure.open_requests(db=db, case=case)
    reason = text_field(form, "reason", max_length=40)
    note = text_field(form, "note", max_length=NOTE_MAX + 1)
    chosen = {q.id: text_field(form, f"request-{q.id}", max_length=8) for q in requests}
    gettext = person.gettext
    errors: list[tuple[str, str]] = []
    # in the page's order: the requests, then the reason
    for q in requests:
        if chosen[q.id] not in CHOICES:
            message = _choose(q)
            errors.append((f"request-{q.id}-cancel", gettext(message)))
        elif chosen[q.id] == "cancel" and not q.can_cancel:
            errors.append((f"request-{q.id}-keep", gettext(NOT_CANCELLABLE)))
    reasons = runtime.policy.vocabularies.closure_reasons
    if reason not in reasons:
        errors.append((f"reason-{reasons[0]}", gettext(CHOOSE_REASON)))
    if len(note) > NOTE_MAX:
        errors.append(("note-field", gettext(NOTE_TOO_LONG)))
    if errors:
        return _close_page(
            request,
            person,
            db,
            runtime,
            case,
            requests=requests,
            reason=reason,
            note=note,
            chosen=chosen,
            errors=errors,
        )
    closure.close(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        case=case,
        actor=person.actor,
        reason=reason,
        note=note or None,
        requests=cast(dict[str, Choice], chosen),
    )
    return _back(case, "closed")


@router.post("/console/cases/{case_id}/reopen")
def reopen(
    case_id: str,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """Open a closed case again (a page reloaded or sent twice: nothing more happens)."""
    person.require(SCOPE)
    case = _case(db, person, case_id)
    if case.erased_at is not None or case.status != cases.CLOSED:
        return _back(case)
    try:
        closure.reopen(db=db, keyring=runtime.keyring, case=case, actor=person.actor, note=None)
    except Conflict:
        return _back(case)
    return _back(case, "reopened")
