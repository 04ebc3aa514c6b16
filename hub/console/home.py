"""The console's home and the person's account page; `/` leads here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound
from hub.cases import service as cases
from hub.console import i18n
from hub.console.errors import ConsoleRoute
from hub.console.notices import attention
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.referrals import service as referrals
from hub.referrals.schemas import Role as ReferralRole
from hub.reviews import service as reviews
from hub.transfers import service as transfers
from hub.transfers.schemas import Role as TransferRole
from hub.users import second_factor
from hub.users import service as users

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/console", status_code=307)


def _organization_name(db: DbSession, organization_id: str) -> str:
    return organization_names(db, [organization_id])[organization_id]


@router.get("/console")
def home(
    request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    overdue = None
    if person.may("reviews:decide"):
        waiting = reviews.queue(
            db=db, keyring=runtime.keyring, organization_id=person.principal.organization_id
        )
        overdue = sum(1 for review in waiting if review.overdue)
    return page(
        request,
        person,
        "home.html",
        db=db,
        organization_name=_organization_name(db, person.principal.organization_id),
        overdue_reviews=overdue,
        came_back=_came_back(db, person) if person.may("referrals:read") else None,
        attention=attention(db, person.user.id),
    )


# what a consent officer sent back or denied: the requester reads why here (and in the API)
CAME_BACK = ["returned", "denied"]
CAME_BACK_LIMIT = 20


def _came_back(db: DbSession, person: CurrentPerson) -> list[dict[str, object]]:
    organization_id = person.principal.organization_id
    referral_items, _ = referrals.get_page(
        db=db,
        organization_id=organization_id,
        role=ReferralRole.sent,
        statuses=CAME_BACK,
        overdue=None,
        cursor=None,
        limit=CAME_BACK_LIMIT,
    )
    transfer_items, _ = transfers.get_page(
        db=db,
        organization_id=organization_id,
        role=TransferRole.sent,
        statuses=["returned"],
        cursor=None,
        limit=CAME_BACK_LIMIT,
    )
    rows: list[dict[str, object]] = []
    for kind, item in [("referral", r) for r in referral_items] + [
        ("transfer", t) for t in transfer_items
    ]:
        outcome = reviews.latest_outcome(db=db, review_id=item.review_id)
        if outcome is None:
            continue
        rows.append(
            {
                "kind": kind,
                "reference": cases.reference(db=db, case_id=item.case_id),
                "status": outcome.status.value,
                "justification": outcome.justification,
                "decided_at": outcome.decided_at,
            }
        )
    return sorted(rows, key=lambda row: row["decided_at"] or 0, reverse=True)


@router.get("/console/account")
def account(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    return page(
        request,
        person,
        "account.html",
        db=db,
        organization_name=_organization_name(db, person.principal.organization_id),
        enrolled=second_factor.is_enrolled(person.user),
        saved=request.query_params.get("saved") == "1",
    )


@router.post("/console/account/language")
def save_language(
    request: Request, person: CurrentPerson, form: CheckedForm, db: DbSession
) -> Response:
    language = i18n.supported(text_field(form, "language", max_length=8))
    users.set_language(db=db, actor=person.actor, user=person.user, language=language)
    response = RedirectResponse("/console/account?saved=1", status_code=303)
    # the saved preference now decides; the switch's cookie would override it
    response.delete_cookie(i18n.LANGUAGE_COOKIE, path="/")
    return response


fallback = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@fallback.get("/console/{rest:path}")
def not_found(rest: str) -> Response:
    """Any other console address: the console's own "not found" page, not the API's JSON."""
    raise NotFound()
