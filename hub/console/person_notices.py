"""The news the office owes people whose data left on a legal basis, without their consent:
the list (those still to tell first), one notice with the form that records who was told, how
and on which day, and the case page's share of them.

Every rule is `hub.legal_bases.notices`'s, as `/v1/person-notices` answers it: which notices
the office sees (`get`, `get_page`: 404 for another organisation's), and recording the news
once, on a day after the disclosure and not in the future (`record_told`). Reading needs
`cases:read` (case workers and consent officers); recording needs `cases:write` (case
workers), as in the API. Addresses carry ids only; a case appears by its reference.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from hub.api.deps import DbSession
from hub.api.problems import Conflict, Unprocessable
from hub.cases import service as cases
from hub.clock import utcnow
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.console.refer_service import error_for
from hub.legal_bases import notices
from hub.legal_bases.schemas import PersonNoticeRead, Told, ToldHow, ToldWhom
from hub.users import directory as people

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

READ = "cases:read"
WRITE = "cases:write"
# how many of each list a page shows (the office's own: a handful at a time)
OWED_LIMIT = 200
TOLD_LIMIT = 20
CHOOSE_WHOM = N_("Choose who was told.")
CHOOSE_HOW = N_("Choose how they were told.")
NOT_A_DATE = N_("Enter a real date, for example 2026-11-28.")
OUT_OF_RANGE = N_("The day must be on or after the disclosure, and not in the future.")


def _shown(db: Session, items: list[PersonNoticeRead], organization_id: str) -> dict[str, Any]:
    """What the rows name besides codes: the cases' references, the recipients' names, and
    who holds each case now (a case transferred away is no longer the office's to open, though
    the news of its disclosure is still the office's to give)."""
    holders = {n.case_id: cases.owner_of(db=db, case_id=n.case_id) for n in items}
    return {
        "references": {n.case_id: cases.reference(db=db, case_id=n.case_id) for n in items},
        "names": organization_names(
            db, [n.recipient_organization_id for n in items] + list(holders.values())
        ),
        "holders": holders,
        "own": organization_id,
    }


def for_case(db: Session, organization_id: str, case_id: str) -> list[PersonNoticeRead]:
    """The case's notices (the case page's section), newest first."""
    items, _ = notices.get_page(
        db=db,
        organization_id=organization_id,
        status=None,
        case_id=case_id,
        cursor=None,
        limit=OWED_LIMIT,
    )
    return items


@router.get("/console/person-notices")
def listing(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    person.require(READ)
    organization_id = person.principal.organization_id
    owed, _ = notices.get_page(
        db=db,
        organization_id=organization_id,
        status=notices.Status.owed,
        case_id=None,
        cursor=None,
        limit=OWED_LIMIT,
    )
    # owed the longest first: those most overdue need action first
    owed.sort(key=lambda n: (n.disclosed_at, n.id))
    told, _ = notices.get_page(
        db=db,
        organization_id=organization_id,
        status=notices.Status.told,
        case_id=None,
        cursor=None,
        limit=TOLD_LIMIT,
    )
    return page(
        request,
        person,
        "person_notices.html",
        db=db,
        owed=owed,
        told=told,
        now=utcnow(),
        **_shown(db, owed + told, organization_id),
    )


def _notice_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    notice_id: str,
    *,
    answers: dict[str, str] | None = None,
    errors: list[tuple[str, str]] | None = None,
) -> Response:
    notice = notices.get(
        db=db, notice_id=notice_id, organization_id=person.principal.organization_id
    )
    shown = notices.read(notice)
    return page(
        request,
        person,
        "person_notice.html",
        db=db,
        status_code=400 if errors else 200,
        notice=shown,
        recorded_by=people.describe(db=db, actor=shown.recorded_by) if shown.recorded_by else None,
        answers=answers or {"told_on": utcnow().date().isoformat()},
        errors=errors or [],
        error_for=error_for(errors),
        whom=list(ToldWhom),
        how=list(ToldHow),
        recorded=request.query_params.get("recorded") == "1",
        **_shown(db, [shown], person.principal.organization_id),
    )


@router.get("/console/person-notices/{notice_id}")
def notice_page(notice_id: str, request: Request, person: CurrentPerson, db: DbSession) -> Response:
    person.require(READ)
    return _notice_page(request, person, db, notice_id)


def _told_at(day: date) -> datetime:
    """The moment recorded for a day: now for today; for a day before, its last second, so that
    a person told later on the day of the disclosure is not recorded as told before it."""
    now = utcnow()
    if day >= now.date():
        return now if day == now.date() else datetime.combine(day, time.min, tzinfo=UTC)
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@router.post("/console/person-notices/{notice_id}/told")
def record_told(
    notice_id: str, request: Request, person: CurrentPerson, form: CheckedForm, db: DbSession
) -> Response:
    person.require(WRITE)
    notice = notices.get(
        db=db, notice_id=notice_id, organization_id=person.principal.organization_id
    )
    answers = {
        name: text_field(form, name, max_length=16) for name in ("told_whom", "told_how", "told_on")
    }
    errors: list[tuple[str, str]] = []
    if answers["told_whom"] not in {w.value for w in ToldWhom}:
        errors.append((f"told_whom-{ToldWhom.subject.value}", person.gettext(CHOOSE_WHOM)))
    if answers["told_how"] not in {h.value for h in ToldHow}:
        errors.append((f"told_how-{ToldHow.in_person.value}", person.gettext(CHOOSE_HOW)))
    day = None
    try:
        day = date.fromisoformat(answers["told_on"]) if answers["told_on"] else utcnow().date()
    except ValueError:
        errors.append(("told_on", person.gettext(NOT_A_DATE)))
    if errors or day is None:
        return _notice_page(request, person, db, notice_id, answers=answers, errors=errors)
    try:
        told = Told(
            told_whom=ToldWhom(answers["told_whom"]),
            told_how=ToldHow(answers["told_how"]),
            told_at=_told_at(day),
        )
        notices.record_told(db=db, notice=notice, told=told, actor=person.actor)
    except (Unprocessable, ValidationError):
        errors = [("told_on", person.gettext(OUT_OF_RANGE))]
        return _notice_page(request, person, db, notice_id, answers=answers, errors=errors)
    except Conflict:
        pass  # recorded meanwhile (a second click, a colleague): the page shows it
    return RedirectResponse(f"/console/person-notices/{notice_id}?recorded=1", status_code=303)
