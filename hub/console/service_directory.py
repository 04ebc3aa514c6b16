"""The service directory at the console: search it with the filters of GET /v1/services, and
read a service's page (who offers it, where, for whom, in which languages, its intake capacity
and when it was last verified).

Every rule is the directory service's, as the API uses them: the search is `service.find` with
a `ServiceFilter` (areas match their sub-areas), a service is `service.get` and `service.read`,
whether it is due for verification `service.verification_due` (the policy's interval), and who
may edit it `service.get_to_edit` (`service_edit.py` holds the forms). This module shows them.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import Problem
from hub.auth.scopes import ADMIN
from hub.clock import utcnow
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import page
from hub.console.people import CurrentPerson, Person
from hub.service_directory import service
from hub.service_directory.models import CAPACITIES
from hub.service_directory.schemas import AREA_PATH, LANGUAGE

router = APIRouter(prefix="/console/services", route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 25
SEXES = ("female", "male", "other")
AREA_NOT_VALID = N_("Enter an area's code, such as NE-AG, or its path, such as NE/NE-AG.")
AGE_NOT_VALID = N_("Enter an age in whole years, from 0 to 130.")
LANGUAGE_NOT_VALID = N_("Enter a language's code, such as fr or ha.")


def editing_for(person: Person) -> str | bool | None:
    """The organisation whose services the person edits; None: any (the hub's
    administrators); False: none (the same rule as the API's `WRITE_SCOPES`)."""
    if person.may(ADMIN):
        return None
    if person.may("services:write"):
        return person.principal.organization_id
    return False


def may_edit(person: Person, organization_id: str) -> bool:
    editing = editing_for(person)
    return editing is None or editing == organization_id


def _filters(request: Request, types: tuple[str, ...]) -> tuple[dict[str, str], list[Any]]:
    """The filters asked for, as typed, and the errors (field, message id)."""
    asked = {
        name: request.query_params.get(name, "").strip()[:100]
        for name in ("type", "area", "age", "sex", "language", "capacity", "mine")
    }
    errors: list[tuple[str, str]] = []
    if asked["type"] and asked["type"] not in types:
        asked["type"] = ""
    if asked["sex"] and asked["sex"] not in SEXES:
        asked["sex"] = ""
    if asked["capacity"] and asked["capacity"] not in CAPACITIES:
        asked["capacity"] = ""
    if asked["area"] and not re.match(AREA_PATH, asked["area"]):
        errors.append(("area", AREA_NOT_VALID))
    if asked["age"] and not (asked["age"].isdigit() and 0 <= int(asked["age"]) <= 130):
        errors.append(("age", AGE_NOT_VALID))
    asked["language"] = asked["language"].lower()
    if asked["language"] and not re.match(LANGUAGE, asked["language"]):
        errors.append(("language", LANGUAGE_NOT_VALID))
    return asked, errors


@router.get("")
def search(
    request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    """The directory, newest first, narrowed by every filter given (as GET /v1/services)."""
    types = runtime.policy.vocabularies.service_types
    asked, errors = _filters(request, types)
    mine = asked["mine"] == "1" and not person.may(ADMIN)
    items: list[Any] = []
    cursor_next = None
    if not errors:
        wanted = service.ServiceFilter(
            service_type=asked["type"] or None,
            area=asked["area"] or None,
            age=int(asked["age"]) if asked["age"] else None,
            sex=asked["sex"] or None,
            language=asked["language"] or None,
            organization_id=person.principal.organization_id if mine else None,
            capacity=asked["capacity"] or None,
        )
        cursor = request.query_params.get("after") or None
        try:
            items, cursor_next = service.find(
                db=db, policy=runtime.policy, wanted=wanted, cursor=cursor, limit=PAGE_SIZE
            )
        except Problem:
            # a stale or altered cursor: the first page instead
            items, cursor_next = service.find(
                db=db, policy=runtime.policy, wanted=wanted, cursor=None, limit=PAGE_SIZE
            )
    kept = [(k, v) for k, v in asked.items() if v]
    today = utcnow().date()
    return page(
        request,
        person,
        "services.html",
        db=db,
        status_code=400 if errors else 200,
        asked=asked,
        filtered=bool(kept),
        errors=[(field, person.gettext(message)) for field, message in errors],
        error_for={field: person.gettext(message) for field, message in errors},
        service_types=types,
        sexes=SEXES,
        capacities=CAPACITIES,
        items=items,
        due={
            s.id: service.verification_due(runtime.policy, s.last_verified_on, today) for s in items
        },
        next_href=(
            "/console/services?" + urlencode([*kept, ("after", cursor_next)])
            if cursor_next
            else None
        ),
        may_add=editing_for(person) is not False,
        own_organisation=not person.may(ADMIN) and person.may("services:write"),
        months=runtime.policy.service_directory.verify_every_months,
    )


def verified_months(last: date | None, today: date) -> int | None:
    """Whole months since the last verification (for the hint's words)."""
    if last is None:
        return None
    months = (today.year - last.year) * 12 + today.month - last.month
    return months - (1 if today.day < last.day else 0)


@router.get("/{service_id}")
def read(
    service_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """A service as GET /v1/services/{id} gives it (the directory is open to every partner)."""
    found = service.read(db=db, service=service.get(db=db, service_id=service_id))
    today = utcnow().date()
    done = request.query_params.get("done", "")
    return page(
        request,
        person,
        "service.html",
        db=db,
        service=found,
        due=service.verification_due(runtime.policy, found.last_verified_on, today),
        months=runtime.policy.service_directory.verify_every_months,
        since_months=verified_months(found.last_verified_on, today),
        may_edit=may_edit(person, found.organization_id),
        capacities=CAPACITIES,
        done=done if done in ("added", "saved", "capacity") else "",
    )
