"""The referral report as a table of labelled lines (section, item, value), in English or
French: what `hub report --format csv` prints and the console's CSV download offers.

Labels are the policy's (`reporting.labels`), English behind the language asked for, the code
itself last; partners and senders by their organisations' names. Counts are copied as the
report gives them ("<5" and "*" included): nothing here recomputes or unhides a cell.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.organizations.models import Organization
from hub.policy.loader import Policy
from hub.reports.schemas import ReferralReport
from hub.reports.service import REVIEW_STATUSES

HEADER = {"en": ("section", "item", "value"), "fr": ("rubrique", "élément", "valeur")}
# the dimensions whose values are organisations' ids, shown by name
ORGANIZATION_DIMENSIONS = ("partner", "sender")


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


def organization_names(db: Session, report: ReferralReport) -> dict[str, str]:
    """The names of the organisations the report's rows name (partners, senders)."""
    ids = {v for row in report.rows for d, v in row.values.items() if d in ORGANIZATION_DIMENSIONS}
    if not ids:
        return {}
    query = select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    return dict(db.execute(query).tuples().all())


def lines(report: ReferralReport, label: Labels) -> list[tuple[str, str, Any]]:
    """(section, item, value) lines of the report, labelled."""
    found: list[tuple[str, str, Any]] = [(label("total"), "", report.total)]
    for row in report.rows:
        item = " / ".join(f"{label(d)}: {label(v)}" for d, v in row.values.items())
        found.append((label("count"), item, row.count))
    for name, figures in report.times.items():
        found.append((label(name), "n", figures.n))
        found.append((label(name), label("median_hours"), figures.median_hours))
        found.append((label(name), label("p90_hours"), figures.p90_hours))
    for reason in report.reasons:
        item = label(reason.status) + (f": {label(reason.reason)}" if reason.reason else "")
        found.append((label("reason"), item, reason.count))
    reviews = report.reviews
    for name in ("held", *REVIEW_STATUSES):
        found.append((label("held"), label(name), getattr(reviews, name)))
    found.append((label("decision"), label("median_hours"), reviews.decision.median_hours))
    found.append((label("decision"), label("p90_hours"), reviews.decision.p90_hours))
    return found


def to_csv(report: ReferralReport, label: Labels, lang: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER[lang])
    writer.writerows(lines(report, label))
    return buffer.getvalue()
