"""`hub report`: the monthly report of referrals, without personal data."""

from __future__ import annotations

import re
import sys
from enum import StrEnum

import typer

from hub.cli.context import emit_json, runtime, unit_of_work
from hub.reports import export, service

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DEFAULT_GROUP_BY = "service_type,partner,status,urgency"


class Format(StrEnum):
    csv = "csv"
    json = "json"


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
    and adds their labels; CSV has one labelled line per figure (section, item, value), as
    `hub.reports.export` writes it (the console's download too).
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
        names = export.organization_names(db, found)
    label = export.Labels(rt.policy, lang, names)
    if output is Format.json:
        document = found.model_dump(mode="json", by_alias=True)
        codes = {v for row in found.rows for v in row.values.values()} | set(found.group_by)
        codes |= {r.status for r in found.reasons} | {r.reason for r in found.reasons if r.reason}
        document["labels"] = {code: label(code) for code in sorted(codes)}
        document["lang"] = lang
        emit_json(document)
        return
    sys.stdout.write(export.to_csv(found, label, lang))
