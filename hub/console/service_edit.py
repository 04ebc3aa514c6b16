"""An organisation's services in the directory, edited at the console: add one, change it,
mark its intake capacity, remove it.

The rules are the directory service's, as PATCH/POST/DELETE /v1/services use them: the hub's
administrators edit any organisation's services, an organisation's people holding
`services:write` only their own (`service.get_to_edit`: another organisation's is 404), anyone
else is refused (403); the shapes are the API's (`ServiceCreate`, `ServiceUpdate`), checked by
pydantic as the API checks them, and the vocabularies by the service. This module asks and shows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound, Unprocessable
from hub.clock import utcnow
from hub.console.errors import ConsoleRoute, Forbidden
from hub.console.labels import N_
from hub.console.pages import CheckedForm, page, text_field
from hub.console.people import CurrentPerson, Person
from hub.console.service_directory import SEXES, editing_for
from hub.organizations import service as organizations
from hub.service_directory import service
from hub.service_directory.models import CAPACITIES, Service
from hub.service_directory.schemas import ServiceCreate, ServiceUpdate

router = APIRouter(prefix="/console/services", route_class=ConsoleRoute, include_in_schema=False)

# what to write when a field is refused, by the form's field
MESSAGES = {
    "organization_id": N_("Choose the organisation that offers the service."),
    "service_type": N_("Choose the type of service."),
    "name": N_("Enter the service's name (200 characters at most)."),
    "description": N_("The description is too long (4,000 characters at most)."),
    "areas": N_(
        "Write one area a line: its codes from the top, separated by /, then its name, "
        "such as NE/NE-AG/NE-AG-ARL Arlit."
    ),
    "focal_point": N_("The focal point is too long (200 characters at most)."),
    "hours": N_("The opening hours are too long (200 characters at most)."),
    "age_min": N_("Enter ages in whole years from 0 to 130, the oldest not below the youngest."),
    "legal_statuses": N_(
        "Write legal statuses as lower-case codes separated by commas, such as refugee."
    ),
    "languages": N_("Write languages as codes separated by commas, such as fr, ha."),
    "capacity": N_("Choose the intake capacity."),
    "last_verified_on": N_("Enter the date as year-month-day, such as 2026-11-28."),
}
# a refused value of a nested shape, by where pydantic finds it
NESTED = {"eligibility": "age_min", "areas": "areas", "languages": "languages"}
FIELDS = (
    "organization_id",
    "service_type",
    "name",
    "description",
    "areas",
    "focal_point",
    "hours",
    "age_min",
    "age_max",
    "sexes",
    "legal_statuses",
    "languages",
    "capacity",
    "last_verified_on",
)


def _editor(person: Person) -> str | None:
    """The organisation the person edits for (None: any); 403 for whoever edits none."""
    editing = editing_for(person)
    if editing is False:
        raise Forbidden()
    return editing if isinstance(editing, str) else None


def _to_edit(db: DbSession, person: Person, service_id: str) -> Service:
    return service.get_to_edit(db=db, service_id=service_id, organization_id=_editor(person))


def _answers_of(form: FormData) -> dict[str, Any]:
    answers: dict[str, Any] = {name: text_field(form, name, max_length=4001) for name in FIELDS}
    answers["sexes"] = [s for s in form.getlist("sexes") if s in SEXES]
    return answers


def _answers_from(found: Any) -> dict[str, Any]:
    """A service's fields as the form writes them."""
    rules = found.eligibility
    return {
        "organization_id": found.organization_id,
        "service_type": found.service_type,
        "name": found.name,
        "description": found.description or "",
        "areas": "\n".join(f"{a.path} {a.name or ''}".strip() for a in found.areas),
        "focal_point": found.focal_point or "",
        "hours": found.hours or "",
        "age_min": "" if rules.age_min is None else str(rules.age_min),
        "age_max": "" if rules.age_max is None else str(rules.age_max),
        "sexes": list(rules.sexes),
        "legal_statuses": ", ".join(rules.legal_statuses),
        "languages": ", ".join(found.languages),
        "capacity": found.capacity,
        "last_verified_on": found.last_verified_on.isoformat() if found.last_verified_on else "",
    }


def _words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if w]


def _age(text: str) -> int | str | None:
    return int(text) if text.isdigit() else (text or None)


def _fields(answers: dict[str, Any]) -> dict[str, Any]:
    """The API's fields from the form's answers (pydantic says what is wrong with them)."""
    areas = []
    for line in str(answers["areas"]).splitlines():
        path, _, name = line.strip().partition(" ")
        if path:
            areas.append({"path": path, "name": name.strip() or None})
    verified: date | str | None = answers["last_verified_on"] or None
    return {
        "service_type": answers["service_type"] or None,
        "name": answers["name"],
        "description": answers["description"] or None,
        "areas": areas,
        "focal_point": answers["focal_point"] or None,
        "hours": answers["hours"] or None,
        "eligibility": {
            "age_min": _age(answers["age_min"]),
            "age_max": _age(answers["age_max"]),
            "sexes": answers["sexes"],
            "legal_statuses": _words(answers["legal_statuses"]),
        },
        "languages": [w.lower() for w in _words(answers["languages"])],
        "capacity": answers["capacity"] or None,
        "last_verified_on": verified,
    }


def _errors_of(error: ValidationError) -> list[str]:
    fields: list[str] = []
    for problem in error.errors():
        where = str(problem["loc"][0]) if problem["loc"] else "name"
        field = NESTED.get(where, where)
        if field in MESSAGES and field not in fields:
            fields.append(field)
    return fields or ["name"]


def _form(
    request: Request,
    person: Person,
    db: DbSession,
    runtime: CurrentRuntime,
    *,
    answers: dict[str, Any],
    service_id: str | None,
    organisation_name: str | None,
    failed: list[str] | None = None,
) -> Response:
    errors = [(f, person.gettext(MESSAGES[f])) for f in failed or []]
    anchors = {"age_min": "age_min", "capacity": "capacity-open", "service_type": "service_type"}
    return page(
        request,
        person,
        "service_form.html",
        db=db,
        status_code=400 if errors else 200,
        errors=[(anchors.get(f, f), message) for f, message in errors],
        error_for=dict(errors),
        answers=answers,
        service_id=service_id,
        organisation_name=organisation_name,
        organisations=(
            organizations.get_all(db=db)
            if service_id is None and editing_for(person) is None
            else []
        ),
        service_types=runtime.policy.vocabularies.service_types,
        sexes=SEXES,
        capacities=CAPACITIES,
    )


@router.get("/new")
def new(
    request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    editing = _editor(person)
    answers = _answers_of(FormData())
    answers.update(capacity="open", last_verified_on=utcnow().date().isoformat())
    name = None if editing is None else organizations.get(db=db, organization_id=editing)
    return _form(
        request,
        person,
        db,
        runtime,
        answers=answers,
        service_id=None,
        organisation_name=name.name if name else None,
    )


@router.post("/new")
def add(
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    editing = _editor(person)
    answers = _answers_of(form)
    organization_id = editing if editing is not None else answers["organization_id"]
    own = None if editing is None else organizations.get(db=db, organization_id=editing)
    failed: list[str] = []
    data = None
    try:
        data = ServiceCreate.model_validate(_fields(answers))
    except ValidationError as error:
        failed = _errors_of(error)
    partner = organizations.get_partner(db=db, organization_id=organization_id or "")
    if editing is None and partner is None:
        failed.insert(0, "organization_id")
    if data is not None and not failed:
        try:
            created = service.create(
                db=db,
                policy=runtime.policy,
                actor=person.actor,
                organization_id=organization_id,
                data=data,
            )
        except Unprocessable as problem:
            field = problem.extra.get("field")
            failed = ["service_type" if field == "service_type" else "name"]
        else:
            return RedirectResponse(f"/console/services/{created.id}?done=added", status_code=303)
    return _form(
        request,
        person,
        db,
        runtime,
        answers=answers,
        service_id=None,
        organisation_name=own.name if own else None,
        failed=failed,
    )


@router.get("/{service_id}/edit")
def edit(
    service_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    found = service.read(db=db, service=_to_edit(db, person, service_id))
    return _form(
        request,
        person,
        db,
        runtime,
        answers=_answers_from(found),
        service_id=found.id,
        organisation_name=found.organization_name,
    )


@router.post("/{service_id}/edit")
def save(
    service_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    found = _to_edit(db, person, service_id)
    answers = _answers_of(form)
    failed: list[str] = []
    try:
        data = ServiceUpdate.model_validate(_fields(answers))
        service.update(db=db, policy=runtime.policy, actor=person.actor, service=found, data=data)
    except ValidationError as error:
        failed = _errors_of(error)
    except Unprocessable as problem:
        field = problem.extra.get("field")
        failed = [field if field in MESSAGES else "name"]
    if not failed:
        return RedirectResponse(f"/console/services/{found.id}?done=saved", status_code=303)
    name = organizations.get(db=db, organization_id=found.organization_id)
    return _form(
        request,
        person,
        db,
        runtime,
        answers=answers,
        service_id=found.id,
        organisation_name=name.name if name else None,
        failed=failed,
    )


@router.post("/{service_id}/capacity")
def capacity(
    service_id: str,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """One button's change: the service's intake capacity (open, limited, full)."""
    found = _to_edit(db, person, service_id)
    chosen = text_field(form, "capacity", max_length=16)
    if chosen not in CAPACITIES:
        raise NotFound()  # the page offers only these: a forged form
    service.update(
        db=db,
        policy=runtime.policy,
        actor=person.actor,
        service=found,
        data=ServiceUpdate(capacity=chosen),  # type: ignore[arg-type]
    )
    return RedirectResponse(f"/console/services/{found.id}?done=capacity", status_code=303)


@router.get("/{service_id}/remove")
def confirm_removal(
    service_id: str, request: Request, person: CurrentPerson, db: DbSession
) -> Response:
    """What removing does, before it is done."""
    found = service.read(db=db, service=_to_edit(db, person, service_id))
    return page(request, person, "service_remove.html", db=db, service=found)


@router.post("/{service_id}/remove")
def remove(service_id: str, person: CurrentPerson, form: CheckedForm, db: DbSession) -> Response:
    found = _to_edit(db, person, service_id)
    service.delete(db=db, actor=person.actor, service=found)
    return RedirectResponse("/console/services?removed=1", status_code=303)
