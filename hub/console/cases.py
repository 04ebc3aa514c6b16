"""The case worker's cases: the office's list (search and filters), the case's page, and the
registration form (`hub.console.case_form`).

The list is `hub.cases.service.find`, the very query `GET /v1/cases` runs with the same
filters; the case is `hub.cases.service.get` (another organisation's case is 404). A case is
named by its reference in lists, titles and addresses; names are shown on the case's own page
only, to its owner.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from starlette.responses import Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.pagination import DEFAULT_LIMIT
from hub.api.problems import Unprocessable
from hub.cases import service as cases
from hub.consent import service as consents
from hub.console import case_form, person_notices
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import organization_names, page
from hub.console.people import CurrentPerson
from hub.referrals import service as referrals
from hub.referrals.lifecycle import FINAL
from hub.referrals.models import Referral
from hub.transfers import sending as transfer_sending
from hub.transfers import service as transfers
from hub.transfers.models import Transfer

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "cases:read"
NOT_A_DATE = N_("Enter a real date, for example 2026-11-28.")
WRONG_WAY = N_("The first date must be on or before the second.")


def _day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


# -- the list ------------------------------------------------------------------------------------
@router.get("/console/cases")
def case_list(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    """The office's cases, newest first, filtered; the filters are a GET form (no JavaScript),
    and none of them can carry a name: a reference, a status, dates, a yes/no."""
    person.require(SCOPE)
    params = request.query_params
    asked = {
        "reference": params.get("reference", "").strip()[:100],
        "status": params.get("status", ""),
        "registered_from": params.get("registered_from", "").strip()[:10],
        "registered_to": params.get("registered_to", "").strip()[:10],
        "has_open_referrals": params.get("has_open_referrals", ""),
    }
    errors: list[tuple[str, str]] = []
    days: dict[str, date | None] = {}
    for name in ("registered_from", "registered_to"):
        try:
            days[name] = _day(asked[name])
        except ValueError:
            errors.append((name, person.gettext(NOT_A_DATE)))
    status = asked["status"] if asked["status"] in set(cases.CaseStatus) else ""
    open_referrals = {"yes": True, "no": False}.get(asked["has_open_referrals"])
    items: list[Any] = []
    cursor_next = None
    if not errors:
        wanted = cases.CaseFilter(
            reference=asked["reference"] or None,
            status=cases.CaseStatus(status) if status else None,
            registered_from=days["registered_from"],
            registered_to=days["registered_to"],
            has_open_referrals=open_referrals,
        )
        cursor = params.get("cursor")
        try:
            items, cursor_next = cases.find(
                db=db,
                organization_id=person.principal.organization_id,
                wanted=wanted,
                cursor=cursor[:200] if cursor else None,
                limit=DEFAULT_LIMIT,
            )
        except Unprocessable as problem:
            if problem.code != "invalid_range":
                raise
            errors.append(("registered_from", person.gettext(WRONG_WAY)))
    kept = {k: v for k, v in asked.items() if v}
    return page(
        request,
        person,
        "cases.html",
        db=db,
        status_code=400 if errors else 200,
        items=items,
        open_counts=_open_referral_counts(db, [item.id for item in items]),
        asked=asked,
        filtered=bool(kept),
        errors=errors,
        error_for=dict(errors),
        next_href=(
            "/console/cases?" + urlencode({**kept, "cursor": cursor_next}) if cursor_next else None
        ),
    )


def _open_referral_counts(db: DbSession, case_ids: list[str]) -> dict[str, int]:
    """How many referrals of each listed case are still open (a flag on the list)."""
    if not case_ids:
        return {}
    rows = db.execute(
        select(Referral.case_id, func.count())
        .where(Referral.case_id.in_(case_ids), Referral.status.not_in(sorted(FINAL)))
        .group_by(Referral.case_id)
    )
    return {case_id: count for case_id, count in rows}


# -- the case ------------------------------------------------------------------------------------
@router.get("/console/cases/{case_id}")
def case_page(
    case_id: str, request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    """The record, one section per data category (the owner's view), its consents, its
    referrals and transfers, and what can be done with it."""
    person.require(SCOPE)
    organization_id = person.principal.organization_id
    case = cases.get(db=db, case_id=case_id, organization_id=organization_id)
    erased = case.erased_at is not None
    subject = None if erased else cases.read_subject(db=db, keyring=runtime.keyring, case=case)
    data = {} if erased else cases.read_data(db=db, keyring=runtime.keyring, case=case)
    held, _ = consents.list_for_case(
        db=db, organization_id=organization_id, case_id=case.id, cursor=None, limit=200
    )
    # the referrals and transfers of this case the office may see (their own access rules)
    sent = list(
        db.scalars(
            select(Referral)
            .where(referrals.visible_to(organization_id), Referral.case_id == case.id)
            .order_by(Referral.created_at.desc())
        )
    )
    moved = list(
        db.scalars(
            select(Transfer)
            .where(transfers.visible_to(organization_id), Transfer.case_id == case.id)
            .order_by(Transfer.created_at.desc())
        )
    )
    parties = [r.to_organization_id for r in sent]
    parties += [o for t in moved for o in (t.from_organization_id, t.to_organization_id)]
    return page(
        request,
        person,
        "case.html",
        db=db,
        case=case,
        erased=erased,
        subject=subject,
        sections=case_form.sections_of(runtime.policy, data),
        consents=consents.read(db=db, keyring=runtime.keyring, consents=held),
        referrals=sent,
        transfers=moved,
        # one open transfer per case (`transfers.sending.OPEN`): no second proposal meanwhile
        open_transfer=next((t for t in moved if t.status in transfer_sending.OPEN), None),
        names=organization_names(db, parties),
        # the news owed to the person after a disclosure without their consent
        person_notices=person_notices.for_case(db, organization_id, case.id),
        registered=request.query_params.get("registered") == "1",
        closed_now=request.query_params.get("closed") == "1" and case.status == cases.CLOSED,
        reopened=request.query_params.get("reopened") == "1" and case.status == cases.OPEN,
    )
