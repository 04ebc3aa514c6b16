"""Administrators: data sharing agreements, a new one, and revoking one.

The same services as `GET`/`POST /v1/agreements` and `POST /v1/agreements/{id}/revoke`;
the consent gate reads agreements in force at each decision, so a revocation counts at once.
Revoking is checked first (what it will do), then confirmed.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.console.admin_forms import FormErrors, attempt, require_admin, validation_errors
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.organizations import service as organizations
from hub.organizations.models import DataSharingAgreement
from hub.organizations.schemas import AgreementCreate

router = APIRouter(
    prefix="/console/admin/agreements", route_class=ConsoleRoute, include_in_schema=False
)

FIELDS = {
    "from_organization_id": "from_organization_id",
    "to_organization_id": "to_organization_id",
    "purposes": "purposes-0",
    "categories": "categories-0",
    "valid_from": "valid_from",
    "valid_until": "valid_until",
    "": "valid_until",  # the dates' order, checked on the whole shape
}
BAD_DATE = N_("Enter a date as year-month-day, for example 2027-12-31.")
MESSAGES = {
    "from_organization_id": N_("Choose the organisation the data comes from."),
    "to_organization_id": N_("Choose the organisation the data goes to."),
    "purposes-0": N_("Choose at least one purpose."),
    "categories-0": N_("Choose at least one kind of data."),
    "valid_until": N_("The end comes after the start."),
}
REASON_MAX = 500
DONE = {"created", "revoked"}


def _names(db: DbSession, rows: list[DataSharingAgreement]) -> dict[str, str]:
    return organization_names(
        db, [a.from_organization_id for a in rows] + [a.to_organization_id for a in rows]
    )


@router.get("")
def listed(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    require_admin(person)
    rows = organizations.get_agreements(db=db)
    # those in force first, the newest first within each
    rows.sort(key=lambda a: (a.revoked_at is not None, -a.created_at.timestamp()))
    done = request.query_params.get("done")
    return page(
        request,
        person,
        "admin_agreements.html",
        db=db,
        items=rows,
        names=_names(db, rows),
        done=done if done in DONE else None,
    )


def _form(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
    *,
    answers: dict[str, object] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    vocabularies = runtime.policy.vocabularies
    return page(
        request,
        person,
        "admin_agreement_new.html",
        db=db,
        status_code=400 if errors else 200,
        partners=organizations.get_all(db=db),
        purposes=vocabularies.purposes,
        categories=vocabularies.data_categories,
        answers=answers or {"purposes": [], "categories": []},
        errors=errors or [],
        error_for=dict(errors or []),
    )


@router.get("/new")
def new(
    request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    require_admin(person)
    return _form(request, person, db, runtime)


def _day(value: str, *, end: bool = False) -> datetime | None:
    """A date typed as YYYY-MM-DD, as the start (or the end) of that day in UTC."""
    if not value:
        return None
    day = datetime.strptime(value, "%Y-%m-%d").date()
    return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)


@router.post("/new")
def create(
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    require_admin(person)
    answers: dict[str, object] = {
        "from_organization_id": text_field(form, "from_organization_id", max_length=64),
        "to_organization_id": text_field(form, "to_organization_id", max_length=64),
        "purposes": [p for p in form.getlist("purposes") if isinstance(p, str)][:50],
        "categories": [c for c in form.getlist("categories") if isinstance(c, str)][:50],
        "valid_from": text_field(form, "valid_from", max_length=10),
        "valid_until": text_field(form, "valid_until", max_length=10),
    }
    # both organisations are required: said with the other refusals, rather than after them
    errors: FormErrors = [
        (name, person.gettext(MESSAGES[name]))
        for name in ("from_organization_id", "to_organization_id")
        if not answers[name]
    ]
    dates: dict[str, datetime | None] = {}
    for name in ("valid_from", "valid_until"):
        try:
            dates[name] = _day(str(answers[name]), end=name == "valid_until")
        except ValueError:
            errors.append((name, person.gettext(BAD_DATE)))
    if len(dates) == 2:
        try:
            data = AgreementCreate.model_validate({**answers, **dates})
        except ValidationError as exc:
            refused = validation_errors(person, exc, FIELDS, MESSAGES)
            errors += [e for e in refused if all(e[0] != seen for seen, _ in errors)]
    if errors:
        # in the form's order
        order = list(FIELDS.values())
        errors.sort(key=lambda error: order.index(error[0]) if error[0] in order else len(order))
        return _form(request, person, db, runtime, answers=answers, errors=errors)
    made, errors = attempt(
        db,
        person,
        "from_organization_id",
        lambda: organizations.create_agreement(
            db=db, policy=runtime.policy, actor=person.actor, data=data
        ),
    )
    if made is None:
        errors = [(FIELDS.get(field, field), message) for field, message in errors]
        return _form(request, person, db, runtime, answers=answers, errors=errors)
    return RedirectResponse("/console/admin/agreements?done=created", 303)


def _revoke_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    agreement: DataSharingAgreement,
    *,
    reason: str = "",
    errors: FormErrors | None = None,
) -> Response:
    return page(
        request,
        person,
        "admin_agreement_revoke.html",
        db=db,
        status_code=400 if errors else 200,
        agreement=agreement,
        names=_names(db, [agreement]),
        reason=reason,
        reason_max=REASON_MAX,
        errors=errors or [],
    )


@router.get("/{agreement_id}/revoke")
def check_revoke(
    agreement_id: str, request: Request, person: CurrentPerson, db: DbSession
) -> Response:
    """What revoking will do, before it is done."""
    require_admin(person)
    agreement = organizations.get_agreement_or_raise(db=db, agreement_id=agreement_id)
    return _revoke_page(request, person, db, agreement)


@router.post("/{agreement_id}/revoke")
def revoke(
    agreement_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
) -> Response:
    require_admin(person)
    agreement = organizations.get_agreement_or_raise(db=db, agreement_id=agreement_id)
    reason = text_field(form, "reason", max_length=REASON_MAX)
    _, errors = attempt(
        db,
        person,
        "reason",
        lambda: organizations.revoke_agreement(
            db=db, actor=person.actor, agreement=agreement, reason=reason or None
        ),
    )
    if errors:
        return _revoke_page(request, person, db, agreement, reason=reason, errors=errors)
    return RedirectResponse("/console/admin/agreements?done=revoked", 303)
