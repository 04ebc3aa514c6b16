"""The frame every signed-in page shares: navigation with counts, the language switch, CSRF."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, Response

from hub.console import i18n, security
from hub.console.errors import CsrfRefused
from hub.console.people import CurrentPerson, Person
from hub.console.templating import render
from hub.legal_bases import notices as person_notices
from hub.notifications import service as notifications
from hub.organizations import service as organizations
from hub.referrals import service as referrals
from hub.reviews import service as reviews
from hub.transfers import service as transfers
from hub.transfers.requests import service as transfer_requests

# who sees the people owed news in the navigation
NOTICE_ROLES = ("case_worker", "consent_officer")


def remember_language(request: Request, response: Response) -> None:
    chosen = i18n.supported(request.query_params.get("lang"))
    if chosen:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE, chosen, samesite="lax", path="/", max_age=31536000
        )


def frame(request: Request, person: Person | None, db: Session | None) -> dict[str, Any]:
    waiting = None
    if person is not None and db is not None and person.may("reviews:decide"):
        waiting = reviews.count_waiting(db=db, organization_id=person.principal.organization_id)
    # the partner's side: referrals and transfer offers waiting for the organisation's answer
    received = offered = asked = None
    if person is not None and db is not None and person.may("referrals:write"):
        received = referrals.count_received(db=db, organization_id=person.principal.organization_id)
    if person is not None and db is not None and person.may("transfers:write"):
        offered = transfers.count_received(db=db, organization_id=person.principal.organization_id)
        # transfer requests waiting for the organisation's answer
        asked = transfer_requests.count_waiting(
            db=db, organization_id=person.principal.organization_id
        )
    # the news owed to people whose data left without their consent: for the office's case
    # workers and consent officers (the API's `cases:read`)
    owed = None
    if (
        person is not None
        and db is not None
        and person.user.role in NOTICE_ROLES
        and person.may("cases:read")
    ):
        owed = person_notices.count_owed(db=db, organization_id=person.principal.organization_id)
    # everyone signed in has notifications (what needs their attention): the unread count
    unread = None
    if person is not None and db is not None:
        unread = notifications.unread_count(db, user_id=person.user.id)
    return {
        "unread_notifications": unread,
        "request": request,
        "person": person,
        "csrf_field": security.CSRF_FIELD,
        "csrf_token": person.csrf_token if person else None,
        "switch_links": i18n.switch_links(request.url.path, request.query_params.items()),
        "waiting_reviews": waiting,
        "received_referrals": received,
        "offered_transfers": offered,
        "asked_transfers": asked,
        "owed_notices": owed,
        "path": request.url.path,
    }


def page(
    request: Request,
    person: Person | None,
    template: str,
    *,
    db: Session | None = None,
    language: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    chosen = language or (person.language if person else i18n.DEFAULT_LANGUAGE)
    response = render(
        chosen, template, {**frame(request, person, db), **context}, status_code=status_code
    )
    remember_language(request, response)
    return response


async def checked_form(request: Request, person: CurrentPerson) -> FormData:
    """The posted form, if it carries the session's CSRF token; otherwise the post is refused."""
    form = await request.form()
    given = form.get(security.CSRF_FIELD)
    if not security.tokens_match(person.csrf_token, given if isinstance(given, str) else None):
        raise CsrfRefused()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def text_field(form: FormData, name: str, *, max_length: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:max_length] if isinstance(value, str) else ""


def organization_names(db: Session, ids: Iterable[str]) -> dict[str, str]:
    """Organisations' names by id (an unknown id stands for itself)."""
    names = {}
    for organization_id in set(ids):
        organization = organizations.get(db=db, organization_id=organization_id)
        names[organization_id] = organization.name if organization else organization_id
    return names
