"""Administrators: an organisation's OAuth clients, a new one, and revoking one.

The same services as the API's `/v1/organizations/{id}/clients` routes. A new client's
secret is in the answer to the form's POST and nowhere else: the hub keeps its hash only, the
page is not cached (`no-store`, as every console page), the secret is never in an address or
a log, and no page shows it again.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from hub.api.deps import DbSession
from hub.api.problems import NotFound
from hub.auth import clients
from hub.auth import scopes as scope_names
from hub.console.admin_forms import FormErrors, attempt, require_admin
from hub.console.errors import ConsoleRoute
from hub.console.labels import LABELS, N_
from hub.console.pages import CheckedForm, page, text_field
from hub.console.people import CurrentPerson
from hub.organizations import service as organizations
from hub.organizations.models import Organization

router = APIRouter(
    prefix="/console/admin/organisations/{organization_id}/clients",
    route_class=ConsoleRoute,
    include_in_schema=False,
)


FHIR_READ = N_("FHIR: read %(resource)s")
FHIR_WRITE = N_("FHIR: write %(resource)s")
ALL_RESOURCES = N_("all resources")


def scope_label(person: CurrentPerson, scope: str) -> str:
    """What the scope allows, in the person's language."""
    if scope.startswith("system/") and "." in scope:
        resource, access = scope.removeprefix("system/").rsplit(".", 1)
        named = person.gettext(ALL_RESOURCES) if resource == "*" else resource
        # SMART v2 permissions of reading and searching only read; any other writes
        message = FHIR_READ if access == "read" or set(access) <= {"r", "s"} else FHIR_WRITE
        return person.gettext(message) % {"resource": named}
    message = LABELS["scopes"].get(scope)
    return person.gettext(message) if message else scope


def _scopes_for(organisation: Organization) -> tuple[str, ...]:
    """The scopes a client of this organisation may hold (the API's own rule)."""
    return scope_names.held_by(scope_names.KNOWN_SCOPES, organization_kind=organisation.kind)


def _list_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    organisation: Organization,
    *,
    name: str = "",
    chosen: list[str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    return page(
        request,
        person,
        "admin_clients.html",
        db=db,
        status_code=400 if errors else 200,
        organisation=organisation,
        items=clients.get_all(db=db, organization_id=organisation.id),
        scopes=[(s, scope_label(person, s)) for s in _scopes_for(organisation)],
        name=name,
        chosen=chosen or [],
        errors=errors or [],
        error_for=dict(errors or []),
        done=request.query_params.get("done") == "revoked",
    )


@router.get("")
def listed(
    organization_id: str, request: Request, person: CurrentPerson, db: DbSession
) -> Response:
    require_admin(person)
    organisation = organizations.get_or_raise(db=db, organization_id=organization_id)
    return _list_page(request, person, db, organisation)


@router.post("")
def create(
    organization_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
) -> Response:
    require_admin(person)
    organisation = organizations.get_or_raise(db=db, organization_id=organization_id)
    name = text_field(form, "name", max_length=200)
    chosen = [s for s in form.getlist("scope") if isinstance(s, str)][:50]
    made, errors = attempt(
        db,
        person,
        "scope-0",
        lambda: clients.create_client(
            db=db,
            organization_id=organisation.id,
            scope=chosen,
            name=name,
            actor=person.actor,
        ),
    )
    if made is None:
        errors = [("scope-0", message) for _, message in errors]
        return _list_page(
            request, person, db, organisation, name=name, chosen=chosen, errors=errors
        )
    client, secret = made
    # the one and only time the secret is shown
    return page(
        request,
        person,
        "admin_client_created.html",
        db=db,
        organisation=organisation,
        client=client,
        secret=secret,
    )


@router.post("/{client_id}/revoke")
def revoke(
    organization_id: str,
    client_id: str,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
) -> Response:
    require_admin(person)
    organizations.get_or_raise(db=db, organization_id=organization_id)
    client = clients.get(db=db, client_id=client_id)
    if client is None or client.organization_id != organization_id:
        raise NotFound("client")
    clients.revoke_client(db=db, client_id=client.client_id, actor=person.actor)
    return RedirectResponse(
        f"/console/admin/organisations/{organization_id}/clients?done=revoked", 303
    )
