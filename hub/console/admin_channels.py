"""Administrators: an organisation's delivery channel, seen and changed.

The same service as `GET`/`PUT /v1/organizations/{id}/channel` (`hub.connectors.channels`):
the url is checked (https, a public host) when it is set and at every connection; a secret
is sealed and never shown again (the page says only whether there is one). Setting the
channel again replaces its secret: leaving the secret empty removes it.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from pydantic import SecretStr, ValidationError
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.connectors import channels
from hub.connectors.schemas import ChannelKind, ChannelSet
from hub.console.admin_forms import FormErrors, attempt, require_admin, validation_errors
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import CheckedForm, page, text_field
from hub.console.people import CurrentPerson
from hub.organizations import service as organizations
from hub.organizations.models import Organization

router = APIRouter(
    prefix="/console/admin/organisations/{organization_id}/channel",
    route_class=ConsoleRoute,
    include_in_schema=False,
)

FIELDS = {"kind": "kind-0", "url": "url", "secret": "secret", "encryption_jwk": "encryption_jwk"}
BY_CODE = {"unsafe_url": "url"}
BAD_KEY = N_("Paste the public key as JSON (a JWK), or leave it empty.")
MESSAGES = {
    "kind-0": N_("Choose the kind of channel."),
    "secret": N_("The secret needs 16 to 512 characters, or leave it empty."),
}


def _page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    organisation: Organization,
    *,
    answers: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    current = channels.get_read(db=db, organization_id=organisation.id)
    return page(
        request,
        person,
        "admin_channel.html",
        db=db,
        status_code=400 if errors else 200,
        organisation=organisation,
        channel=current,
        kinds=list(ChannelKind),
        answers=answers or {"kind": current.kind.value, "url": current.url or ""},
        errors=errors or [],
        error_for=dict(errors or []),
        done=request.query_params.get("done") == "saved",
    )


@router.get("")
def view(organization_id: str, request: Request, person: CurrentPerson, db: DbSession) -> Response:
    require_admin(person)
    organisation = organizations.get_or_raise(db=db, organization_id=organization_id)
    return _page(request, person, db, organisation)


@router.post("")
def save(
    organization_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    require_admin(person)
    organisation = organizations.get_or_raise(db=db, organization_id=organization_id)
    # the secret is never sent back into the form
    answers = {
        "kind": text_field(form, "kind", max_length=16),
        "url": text_field(form, "url", max_length=2001),
        "encryption_jwk": text_field(form, "encryption_jwk", max_length=8000),
    }
    secret = text_field(form, "secret", max_length=513)
    jwk = None
    if answers["encryption_jwk"]:
        try:
            jwk = json.loads(answers["encryption_jwk"])
        except ValueError:
            jwk = None
        if not isinstance(jwk, dict):
            errors = [("encryption_jwk", person.gettext(BAD_KEY))]
            return _page(request, person, db, organisation, answers=answers, errors=errors)
    try:
        data = ChannelSet(
            kind=answers["kind"],
            url=answers["url"] or None,
            secret=SecretStr(secret) if secret else None,
            encryption_jwk=jwk,
        )
    except ValidationError as exc:
        errors = validation_errors(person, exc, FIELDS, MESSAGES)
        return _page(request, person, db, organisation, answers=answers, errors=errors)
    _, errors = attempt(
        db,
        person,
        "kind-0",
        lambda: channels.set_channel(
            db=db,
            keyring=runtime.keyring,
            settings=runtime.settings,
            organization_id=organisation.id,
            data=data,
            actor=person.actor,
        ),
        BY_CODE,
    )
    if errors:
        errors = [(FIELDS.get(field, field), message) for field, message in errors]
        return _page(request, person, db, organisation, answers=answers, errors=errors)
    return RedirectResponse(
        f"/console/admin/organisations/{organisation.id}/channel?done=saved", 303
    )
