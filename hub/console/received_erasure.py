"""The recipient confirms at the console that it has erased what it received under a referral
(its data life): the referral's page shows the erase-by date and the button; the confirmation
page shows when and by whom it was confirmed, without releasing the data again.

Confirming is `hub.disclosures.erasure.confirm`, the function
`POST /v1/referrals/{id}/erasure-confirmation` calls (the same rows, the same audit entry, the
same answer when nothing new is left to confirm); where it stands is
`hub.referrals.data_life.erasure_of`, which reads the accounting of disclosures and discloses
nothing. Who may confirm is who may work the referral in the inbox (`inbox.SCOPE`, the API's
`referrals:write`), for the organisation that received it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from hub.api.deps import DbSession
from hub.api.problems import NotFound
from hub.console.errors import ConsoleRoute
from hub.console.inbox import SCOPE, erasure_shown, received
from hub.console.pages import CheckedForm, page
from hub.console.people import CurrentPerson
from hub.disclosures import erasure
from hub.lifecycle import Party
from hub.referrals import data_life, service

router = APIRouter(prefix="/console/received", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/{referral_id}/erasure")
def erasure_page(
    referral_id: str, request: Request, person: CurrentPerson, db: DbSession
) -> Response:
    """Where the erasure stands, and the button while something waits for it. Nothing of the
    case is read here: looking at this page releases nothing."""
    person.require(SCOPE)
    referral = received(db, person, referral_id)
    state = data_life.erasure_of(
        db, referral_id=referral.id, organization_id=person.principal.organization_id
    )
    if state is None:
        # received nothing yet (never opened): nothing to erase, as the API's 404 says
        raise NotFound("referral")
    return page(
        request,
        person,
        "received_erasure.html",
        db=db,
        referral=service.summary(referral, Party.recipient),
        confirmed=request.query_params.get("confirmed") == "1",
        **erasure_shown(db, state),
    )


@router.post("/{referral_id}/erasure")
def confirm(referral_id: str, person: CurrentPerson, form: CheckedForm, db: DbSession) -> Response:
    person.require(SCOPE)
    referral = received(db, person, referral_id)
    erasure.confirm(
        db=db,
        referral_id=referral.id,
        organization_id=person.principal.organization_id,
        actor=person.actor,
    )
    # post, redirect, get: the confirmation page reads nothing of the case
    return RedirectResponse(f"/console/received/{referral.id}/erasure?confirmed=1", status_code=303)
