"""The referral report at the console: a month or a period, the dimensions to count by, the
figures in tables (small cells as the report gives them, "<5" and "*"), and the same report as
a CSV file.

Every rule is the reports service's, as GET /v1/reports/referrals uses it: whose referrals are
counted (the person's organisation and the offices below it), which dimensions are allowed and
how many (`parse_group_by`), which cells are hidden (`suppression`); the CSV is
`hub.reports.export`, what `hub report --format csv` prints, with the policy's labels. This
module asks and shows; it never recomputes or unhides a number.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import Unprocessable
from hub.clock import utcnow
from hub.console.errors import ConsoleRoute
from hub.console.labels import LABELS, N_
from hub.console.pages import page
from hub.console.people import CurrentPerson, Person
from hub.reports import export, service
from hub.reports.schemas import Dimension, ReferralReport

router = APIRouter(prefix="/console/reports", route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "reports:read"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DEFAULT_GROUP_BY = ("service_type", "status")
MONTH_NOT_VALID = N_("Enter the month as year-month, such as 2026-11.")
DAY_NOT_VALID = N_("Enter the date as year-month-day, such as 2026-11-28.")
PERIOD_NOT_VALID = N_("The end must be on or after the start, at most three years later.")
TOO_MANY = N_("Choose at most %(num)s ways to count.")


def _asked(request: Request) -> dict[str, Any]:
    params = request.query_params
    today = utcnow().date()
    return {
        "period": "range" if params.get("period") == "range" else "month",
        "month": params.get("month", today.strftime("%Y-%m")).strip()[:7],
        "from": params.get("from", today.replace(day=1).isoformat()).strip()[:10],
        "to": params.get("to", today.isoformat()).strip()[:10],
        "group_by": [g for g in params.getlist("group_by") if g in Dimension.__members__]
        if "run" in params
        else list(DEFAULT_GROUP_BY),
        "run": "run" in params,
    }


def _period(asked: dict[str, Any]) -> tuple[tuple[date, date] | None, list[tuple[str, str]]]:
    if asked["period"] == "month":
        if not MONTH.match(asked["month"]):
            return None, [("month", MONTH_NOT_VALID)]
        return service.month_range(asked["month"]), []
    errors = []
    days: list[date] = []
    for name in ("from", "to"):
        try:
            if not DAY.match(asked[name]):
                raise ValueError(name)
            days.append(date.fromisoformat(asked[name]))
        except ValueError:
            errors.append((name, DAY_NOT_VALID))
    return (None, errors) if errors else ((days[0], days[1]), [])


def _run(
    person: Person, db: DbSession, runtime: CurrentRuntime, asked: dict[str, Any]
) -> tuple[ReferralReport | None, list[tuple[str, str]]]:
    period, problems = _period(asked)
    errors = [(field, person.gettext(message)) for field, message in problems]
    if period is None:
        return None, errors
    try:
        dimensions = service.parse_group_by(",".join(asked["group_by"]))
        report = service.report(
            db=db,
            policy=runtime.policy,
            organization_id=person.principal.organization_id,
            start=period[0],
            end=period[1],
            group_by=dimensions,
        )
    except Unprocessable as problem:
        if problem.code == "too_many_dimensions":
            message = person.gettext(TOO_MANY) % {"num": service.MAX_DIMENSIONS}
            return None, [(f"group_by-{asked['group_by'][0]}", message)]
        return None, [
            ("to" if asked["period"] == "range" else "month", person.gettext(PERIOD_NOT_VALID))
        ]
    return report, []


# the console's words for the codes a report shows, by the vocabulary that holds them
VOCABULARIES = (
    "service_types",
    "referral_statuses",
    "urgencies",
    "sexes",
    "decline_reasons",
    "outcomes",
    "status_reasons",
)


def words(person: Person, labels: export.Labels, policy_words: dict[str, str]) -> Any:
    """A code as the page shows it: the policy's report label in the page's language where it
    gives one (as the CSV does), else the console's own word for it, else the CSV's."""

    def word(code: str | None) -> str:
        if code is None:
            return ""
        if code in policy_words:
            return policy_words[code]
        for vocabulary in VOCABULARIES:
            message = LABELS[vocabulary].get(code)
            if message:
                return person.gettext(message)
        return labels(code)

    return word


def _query(asked: dict[str, Any]) -> str:
    pairs = [("period", asked["period"])]
    if asked["period"] == "month":
        pairs.append(("month", asked["month"]))
    else:
        pairs += [("from", asked["from"]), ("to", asked["to"])]
    pairs += [("group_by", g) for g in asked["group_by"]]
    return urlencode([*pairs, ("run", "1")])


@router.get("")
def reports(
    request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    person.require(SCOPE)
    asked = _asked(request)
    report, errors = _run(person, db, runtime, asked) if asked["run"] else (None, [])
    names = export.organization_names(db, report) if report else {}
    return page(
        request,
        person,
        "reports.html",
        db=db,
        status_code=400 if errors else 200,
        asked=asked,
        errors=errors,
        error_for={field.split("-", 1)[0]: message for field, message in errors},
        dimensions=[d.value for d in Dimension],
        max_dimensions=service.MAX_DIMENSIONS,
        report=report,
        code=words(
            person,
            export.Labels(runtime.policy, person.language, names),
            {**runtime.policy.reporting.labels.get(person.language, {}), **names},
        ),
        review_statuses=service.REVIEW_STATUSES,
        csv_href=f"/console/reports/referrals.csv?{_query(asked)}&lang={person.language}"
        if report
        else None,
    )


@router.get("/referrals.csv")
def download(
    request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    """The report as `hub report --format csv` writes it, labelled in the page's language."""
    person.require(SCOPE)
    asked = _asked(request)
    asked["run"] = True
    report, _ = _run(person, db, runtime, asked)
    if report is None:
        return reports(request, person, db, runtime)
    names = export.organization_names(db, report)
    text = export.to_csv(
        report, export.Labels(runtime.policy, person.language, names), person.language
    )
    period = asked["month"] if asked["period"] == "month" else f"{asked['from']}_{asked['to']}"
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="referrals-report-{period}.csv"'},
    )
