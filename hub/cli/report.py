"""`hub report`: the monthly report of referrals, without personal data."""

from __future__ import annotations

import csv
import io
import re
import sys
from enum import StrEnum
from typing import Any

import typer
from sqlalchemy import select

from hub.cli.context import emit_json, runtime, unit_of_work
from hub.organizations.models import Organization
from hub.policy.loader import Policy
from hub.reports import service
from hub.reports.schemas import ReferralReport

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DEFAULT_GROUP_BY = "service_type,partner,status,urgency"
HEADER = {"en": ("section", "item", "value"), "fr": ("rubrique", "élément", "valeur")}


class Format(StrEnum):
    csv = "csv"
    json = "json"


class Labels:
    """The policy's labels (`reporting.labels`) in one language, English behind, the code
    itself last; organisations by their names."""

    def __init__(self, policy: Policy, lang: str, names: dict[str, str]) -> None:
        given = policy.reporting.labels
        self.table = {**given.get("en", {}), **given.get(lang, {}), **names}

    def __call__(self, code: str | None) -> str:
        if code is None:
            return ""
        return self.table.get(code, code)


def _rows(report: ReferralReport, label: Labels) -> list[tuple[str, str, Any]]:
    """(section, item, value) lines of the report, labelled."""
    lines: list[tuple[str, str, Any]] = [(label("total"), "", report.total)]
    for row in report.rows:
        item = " / ".join(f"{label(d)}: {label(v)}" for d, v in row.values.items())
        lines.append((label("count"), item, row.count))
    for name, figures in report.times.items():
        lines.append((label(name), "n", figures.n))
        lines.append((label(name), label("median_hours"), figures.median_hours))
        lines.append((label(name), label("p90_hours"), figures.p90_hours))
    for reason in report.reasons:
        item = label(reason.status) + (f": {label(reason.reason)}" if reason.reason else "")
        lines.append((label("reason"), item, reason.count))
    reviews = report.reviews
    for name in ("held", *service.REVIEW_STATUSES):
        lines.append((label("held"), label(name), getattr(reviews, name)))
    lines.append((label("decision"), label("median_hours"), reviews.decision.median_hours))
    lines.append((label("decision"), label("p90_hours"), reviews.decision.p90_hours))
    return lines


def report(
    month: str = typer.Option(..., "--month", help="The month, as YYYY-MM."),
    lang: str = typer.Option("en", "--lang", help="Labels' language: en or fr."),
    output: Format = typer.Option(Format.csv, "--format", help="csv or json."),
    group_by: str = typer.Option(
        DEFAULT_GROUP_BY, "--group-by", help="Comma-separated dimensions of the counts."
    ),
) -> None:
    """Print the monthly report of every referral made in the month: counts by dimension,
    hours to acknowledge, accept and complete, reasons and reviews; no personal data, small
    cells shown as "<5".

    Computed from codes and times only, never by decrypting anything. JSON keeps the codes
    and adds their labels; CSV has one labelled line per figure (section, item, value).
    """
    if not MONTH.match(month):
        typer.echo("--month must be YYYY-MM, e.g. 2026-11", err=True)
        raise typer.Exit(2)
    if lang not in ("en", "fr"):
        typer.echo("--lang must be en or fr", err=True)
        raise typer.Exit(2)
    rt = runtime()
    start, end = service.month_range(month)
    with unit_of_work(rt) as db:
        found = service.report(
            db=db,
            policy=rt.policy,
            organization_id=None,
            start=start,
            end=end,
            group_by=service.parse_group_by(group_by),
        )
        ids = {v for row in found.rows for d, v in row.values.items() if d in ("partner", "sender")}
        names = dict(
            db.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids)))
            .tuples()
            .all()
        )
    label = Labels(rt.policy, lang, names)
    if output is Format.json:
        document = found.model_dump(mode="json", by_alias=True)
        codes = {v for row in found.rows for v in row.values.values()} | set(found.group_by)
        codes |= {r.status for r in found.reasons} | {r.reason for r in found.reasons if r.reason}
        document["labels"] = {code: label(code) for code in sorted(codes)}
        document["lang"] = lang
        emit_json(document)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER[lang])
    writer.writerows(_rows(found, label))
    sys.stdout.write(buffer.getvalue())
