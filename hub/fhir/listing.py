"""Searches of referrals as Tasks or as ServiceRequests: one query for both.

The tenant condition is the referrals' own access rule (`service.visible_to`), in the query,
whatever else is asked. Each resource names the parties its own way (a Task's `owner`, a
ServiceRequest's `performer`: the recipient; `requester`: the sender) and says its status in
its own codes (TaskStatus, RequestStatus), each mapped back to the hub's statuses through the
lifecycle's `FHIR_TASK_STATUS`. Paging is by `meta.lastUpdated` (the indexed `updated_at`),
oldest first: a client polling with `_lastUpdated=gt<last seen>` gets every change once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from hub.api.problems import Unprocessable
from hub.fhir import codes, search
from hub.referrals import service
from hub.referrals.lifecycle import FHIR_TASK_STATUS
from hub.referrals.models import Referral


def _grouped(pairs: Any) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for code, hub_status in pairs:
        grouped.setdefault(code, []).append(hub_status)
    return grouped


# the hub's statuses behind each Task status, and behind each ServiceRequest status
STATUSES_FOR_TASK = _grouped((t, s) for s, t in FHIR_TASK_STATUS.items())
STATUSES_FOR_REQUEST = _grouped(
    (codes.REQUEST_STATUS_FOR_TASK[t], s) for s, t in FHIR_TASK_STATUS.items()
)

_COMPARE: dict[str, Callable[[Any, datetime], ColumnElement[bool]]] = {
    "ge": lambda col, at: col >= at,
    "gt": lambda col, at: col > at,
    "le": lambda col, at: col <= at,
    "lt": lambda col, at: col < at,
    "eq": lambda col, at: col == at,
}


@dataclass(frozen=True)
class Searched:
    """How one resource type names its search parameters."""

    resource: str
    recipient: str  # the parameter naming the recipient organisation
    statuses: dict[str, list[str]]  # its status codes → the hub's statuses

    @property
    def params(self) -> tuple[str, ...]:
        return (self.recipient, "requester", "status", "_lastUpdated", "_id")


TASK = Searched("Task", "owner", STATUSES_FOR_TASK)
SERVICE_REQUEST = Searched("ServiceRequest", "performer", STATUSES_FOR_REQUEST)


def find(
    *, db: Session, request: Request, organization_id: str, searched: Searched
) -> tuple[list[Referral], str | None]:
    """The caller's referrals (sent, or received once sent) matching the search, one page."""
    search.check_params(request, searched.params)
    params = request.query_params
    query = select(Referral).where(service.visible_to(organization_id))
    for value in params.getlist(searched.recipient):
        recipient = search.reference_id(value, "Organization", searched.recipient)
        query = query.where(Referral.to_organization_id == recipient)
    for value in params.getlist("requester"):
        sender = search.reference_id(value, "Organization", "requester")
        query = query.where(Referral.from_organization_id == sender)
    for value in params.getlist("_id"):
        query = query.where(Referral.id.in_(value.split(",")))
    for value in params.getlist("status"):
        wanted = value.split(",")
        if any(s not in searched.statuses for s in wanted):
            raise Unprocessable(
                "unknown_value",
                f"Not a {searched.resource} status the hub uses",
                field="status",
                allowed=sorted(searched.statuses),
            )
        query = query.where(
            Referral.status.in_(sorted({hub for s in wanted for hub in searched.statuses[s]}))
        )
    for prefix, at in search.date_bounds(params.getlist("_lastUpdated"), "_lastUpdated"):
        # naive UTC in the database on SQLite: compared as the same instant
        query = query.where(_COMPARE[prefix](Referral.updated_at, at))
    after = search.cursor(request)
    if after is not None:
        at, row_id = after
        query = query.where(
            or_(Referral.updated_at > at, and_(Referral.updated_at == at, Referral.id > row_id))
        )
    limit = search.count(request)
    rows = list(db.scalars(query.order_by(Referral.updated_at, Referral.id).limit(limit + 1)))
    last = rows[limit - 1] if len(rows) > limit else None
    return rows[:limit], search.next_cursor(last.updated_at, last.id) if last else None
