"""Administrators: the hub's organisations, one organisation's page, and a new one.

The index of the administration (`/console/admin`) is here too. An organisation is made by
`hub.organizations.service.create`, as `POST /v1/organizations` does, with the same fields.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.auth import clients
from hub.connectors import channels
from hub.console.admin_forms import FormErrors, attempt, require_admin, validation_errors
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.organizations import service as organizations
from hub.organizations.schemas import OrganizationCreate
from hub.policy.loader import OPERATOR_KIND
from hub.users import service as users

router = APIRouter(prefix="/console/admin", route_class=ConsoleRoute, include_in_schema=False)

# the request shape's fields, and the form's ids an error links to
FIELDS = {
    "name": "name",
    "kind": "kind-0",
    "parent_id": "parent_id",
    "services": "services-0",
    "country": "country",
}

CHOOSE_KIND = N_("Choose the kind of organisation.")
MESSAGES = {
    "name": N_("Enter the organisation's name (200 characters at most)."),
    "country": N_("Enter the country as two capital letters, for example NE, or leave it empty."),
}


@router.get("")
def index(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    require_admin(person)
    return page(request, person, "admin_index.html", db=db)


@router.get("/organisations")
def listed(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    require_admin(person)
    rows = organizations.get_all(db=db, with_operator=True)
    return page(
        request,
        person,
        "admin_organisations.html",
        db=db,
        items=rows,
        names={o.id: o.name for o in rows},
        operator_kind=OPERATOR_KIND,
        done=request.query_params.get("done") == "created",
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
    offices = [o for o in organizations.get_all(db=db) if o.kind == organizations.IOM_OFFICE]
    return page(
        request,
        person,
        "admin_organisation_new.html",
        db=db,
        status_code=400 if errors else 200,
        kinds=runtime.policy.vocabularies.organization_kinds,
        service_types=runtime.policy.vocabularies.service_types,
        offices=offices,
        answers=answers or {"services": []},
        errors=errors or [],
        error_for=dict(errors or []),
    )


@router.get("/organisations/new")
def new(
    request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    require_admin(person)
    return _form(request, person, db, runtime)


@router.post("/organisations/new")
def create(
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    require_admin(person)
    answers: dict[str, object] = {
        "name": text_field(form, "name", max_length=201),
        "kind": text_field(form, "kind", max_length=32),
        "parent_id": text_field(form, "parent_id", max_length=64) or None,
        "services": [s for s in form.getlist("services") if isinstance(s, str)][:50],
        "country": text_field(form, "country", max_length=3).upper() or None,
    }
    # a kind is required: said here with the shape's refusals, rather than after them
    errors: FormErrors = []
    if not answers["kind"]:
        errors.append(("kind-0", person.gettext(CHOOSE_KIND)))
    try:
        data = OrganizationCreate.model_validate(answers)
    except ValidationError as exc:
        refused = validation_errors(person, exc, FIELDS, MESSAGES)
        errors += [e for e in refused if e[0] != "kind-0"]
    if errors:
        return _form(request, person, db, runtime, answers=answers, errors=errors)
    made, errors = attempt(
        db,
        person,
        "name",
        lambda: organizations.create(db=db, policy=runtime.policy, actor=person.actor, data=data),
    )
    if made is None:
        for i, (field, message) in enumerate(errors):
            errors[i] = (FIELDS.get(field, field), message)
        return _form(request, person, db, runtime, answers=answers, errors=errors)
    return RedirectResponse(f"/console/admin/organisations/{made.id}?done=created", 303)


@router.get("/organisations/{organization_id}")
def organisation(
    organization_id: str, request: Request, person: CurrentPerson, db: DbSession
) -> Response:
    require_admin(person)
    org = organizations.get_or_raise(db=db, organization_id=organization_id)
    agreements = organizations.get_agreements(db=db, organization_id=org.id)
    names = organization_names(
        db,
        [org.id]
        + ([org.parent_id] if org.parent_id else [])
        + [a.from_organization_id for a in agreements]
        + [a.to_organization_id for a in agreements],
    )
    return page(
        request,
        person,
        "admin_organisation.html",
        db=db,
        organisation=org,
        names=names,
        operator_kind=OPERATOR_KIND,
        channel=channels.get_read(db=db, organization_id=org.id),
        clients=clients.get_all(db=db, organization_id=org.id),
        people=users.get_all(db=db, organization_id=org.id),
        agreements=agreements,
        done=request.query_params.get("done") == "created",
    )
