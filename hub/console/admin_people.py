"""Administrators: the people who sign in to the console, a new one, and disabling one.

The same services as `hub users add|list|disable` (`hub.users.service`): the role must be
allowed at the organisation (the operator's people are administrators only), the password
long enough, the e-mail unused. Disabling ends the person's sessions at once.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from hub.api.deps import DbSession
from hub.api.problems import NotFound
from hub.console.admin_forms import FormErrors, attempt, require_admin
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.organizations import service as organizations
from hub.users import service as users
from hub.users.models import User
from hub.users.roles import Role

router = APIRouter(
    prefix="/console/admin/people", route_class=ConsoleRoute, include_in_schema=False
)

FIELDS = {"role": "role-0", "organization_id": "organization_id", "password": "password"}
# the service's refusals that name no field, by the field they concern
BY_CODE = {
    "weak_password": "password",
    "unknown_value": "role",
    "invalid_role": "role",
    "not_found": "organization_id",
}
CHOOSE_ORGANISATION = N_("Choose an organisation.")
NOT_YOURSELF = N_("You cannot disable yourself: ask another administrator.")
DONE = {"created", "disabled", "enabled"}


@router.get("")
def listed(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    require_admin(person)
    chosen = request.query_params.get("organisation") or None
    if chosen is not None:
        organizations.get_or_raise(db=db, organization_id=chosen)
    rows = users.get_all(db=db, organization_id=chosen)
    done = request.query_params.get("done")
    return page(
        request,
        person,
        "admin_people.html",
        db=db,
        items=rows,
        names=organization_names(db, [u.organization_id for u in rows]),
        organisations=organizations.get_all(db=db, with_operator=True),
        chosen=chosen,
        done=done if done in DONE else None,
    )


def _form(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    *,
    answers: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    return page(
        request,
        person,
        "admin_person_new.html",
        db=db,
        status_code=400 if errors else 200,
        organisations=organizations.get_all(db=db, with_operator=True),
        roles=list(Role),
        min_password=users.MIN_PASSWORD_LENGTH,
        answers=answers or {},
        errors=errors or [],
        error_for=dict(errors or []),
    )


@router.get("/new")
def new(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    require_admin(person)
    return _form(request, person, db)


@router.post("/new")
def create(request: Request, person: CurrentPerson, form: CheckedForm, db: DbSession) -> Response:
    require_admin(person)
    answers = {
        "email": text_field(form, "email", max_length=255),
        "organization_id": text_field(form, "organization_id", max_length=64),
        "role": text_field(form, "role", max_length=32),
    }
    # the password is never sent back into the form
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    if not answers["organization_id"]:
        errors = [("organization_id", person.gettext(CHOOSE_ORGANISATION))]
        return _form(request, person, db, answers=answers, errors=errors)
    made, errors = attempt(
        db,
        person,
        "email",
        lambda: users.create(
            db=db,
            actor=person.actor,
            organization_id=answers["organization_id"],
            email=answers["email"],
            password=password,
            role=answers["role"],
        ),
        BY_CODE,
    )
    if made is None:
        errors = [(FIELDS.get(field, field), message) for field, message in errors]
        return _form(request, person, db, answers=answers, errors=errors)
    return RedirectResponse("/console/admin/people?done=created", 303)


def _user(db: DbSession, user_id: str) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("user")
    return user


@router.post("/{user_id}/disable")
def disable(
    user_id: str, request: Request, person: CurrentPerson, form: CheckedForm, db: DbSession
) -> Response:
    require_admin(person)
    user = _user(db, user_id)
    if user.id == person.user.id:
        return page(
            request,
            person,
            "error.html",
            db=db,
            status_code=409,
            status=409,
            code="not_yourself",
            message=NOT_YOURSELF,
        )
    users.disable(db=db, actor=person.actor, user=user)
    return RedirectResponse("/console/admin/people?done=disabled", 303)


@router.post("/{user_id}/enable")
def enable(user_id: str, person: CurrentPerson, form: CheckedForm, db: DbSession) -> Response:
    require_admin(person)
    users.enable(db=db, actor=person.actor, user=_user(db, user_id))
    return RedirectResponse("/console/admin/people?done=enabled", 303)
