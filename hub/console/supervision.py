"""Supervision on the tracking board: an office sees the referrals and transfers of the
offices below it (`?scope=tree`), their statuses, dates, parties and whether they are overdue,
and opens one to read the same, and no more.

Every rule is the services': which items are an office's below (`supervised_by`, in the query),
what the office above may read of them (`SupervisedReferral`, `SupervisedTransfer`: never the
case, the data or the plan, which only the consent gate releases), as GET /v1/referrals and
/v1/transfers give them with `?scope=tree`; one of them is `get_supervised` (404 for any other).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from hub.api.deps import DbSession
from hub.console.errors import ConsoleRoute
from hub.console.history import since
from hub.console.pages import organization_names, page
from hub.console.people import CurrentPerson
from hub.organizations.service import below
from hub.referrals import service as referrals
from hub.referrals.lifecycle import FHIR_TASK_STATUS
from hub.referrals.lifecycle import FINAL as REFERRALS_FINAL
from hub.referrals.schemas import ListScope, SupervisedReferral
from hub.reviews.service import URGENCY_RANK
from hub.transfers import service as transfers
from hub.transfers.lifecycle import FINAL as TRANSFERS_FINAL
from hub.transfers.schemas import ListScope as TransferScope
from hub.transfers.schemas import SupervisedTransfer
from hub.transfers.service import STATUSES as TRANSFER_STATUSES

router = APIRouter(prefix="/console/board/below", route_class=ConsoleRoute, include_in_schema=False)

# whoever reads the board (`board.SCOPE`) follows the offices below, as `?scope=tree` allows
SCOPE = "referrals:read"
LIMIT = 100


@dataclass
class Below:
    """The offices below's referrals and transfers, as the office above reads them."""

    referrals: list[SupervisedReferral]
    transfers: list[SupervisedTransfer]
    more: bool
    limit: int = LIMIT


def has_offices_below(db: Session, organization_id: str) -> bool:
    return db.execute(below(organization_id).limit(1)).first() is not None


def _urgency_rank(urgency: str) -> int:
    return URGENCY_RANK.get(urgency, len(URGENCY_RANK))


def offices_below(db: Session, organization_id: str, *, closed: bool) -> Below:
    """The newest `LIMIT` of each (open ones, or closed ones), what needs action first: the
    overdue, then by urgency, then the longest waiting (closed ones: the most recent first)."""
    statuses = [s for s in FHIR_TASK_STATUS if (s in REFERRALS_FINAL) == closed]
    found, more_referrals = referrals.get_page(
        db=db,
        organization_id=organization_id,
        role=None,
        statuses=statuses,
        overdue=None,
        cursor=None,
        limit=LIMIT,
        scope=ListScope.tree,
    )
    supervised = [r for r in found if isinstance(r, SupervisedReferral)]
    if not closed:
        supervised.sort(
            key=lambda r: (not r.overdue, _urgency_rank(r.urgency), r.sent_at or r.created_at)
        )
    moved, more_transfers = transfers.get_page(
        db=db,
        organization_id=organization_id,
        role=None,
        statuses=[s for s in TRANSFER_STATUSES if (s in TRANSFERS_FINAL) == closed],
        cursor=None,
        limit=LIMIT,
        scope=TransferScope.tree,
    )
    offered = [t for t in moved if isinstance(t, SupervisedTransfer)]
    if not closed:
        offered.sort(key=lambda t: t.updated_at)
    return Below(supervised, offered, bool(more_referrals or more_transfers))


def parties_of(below_items: Below) -> list[str]:
    items = [*below_items.referrals, *below_items.transfers]
    return [o for i in items for o in (i.from_organization_id, i.to_organization_id)]


@router.get("/referrals/{referral_id}")
def referral(referral_id: str, request: Request, person: CurrentPerson, db: DbSession) -> Response:
    """A referral of an office below: what the board's list showed, and no more."""
    person.require(SCOPE)
    found = referrals.get_supervised(
        db=db, referral_id=referral_id, organization_id=person.principal.organization_id
    )
    return page(
        request,
        person,
        "board_below_referral.html",
        db=db,
        referral=found,
        names=organization_names(db, [found.from_organization_id, found.to_organization_id]),
        since=since(person.language),
    )


@router.get("/transfers/{transfer_id}")
def transfer(transfer_id: str, request: Request, person: CurrentPerson, db: DbSession) -> Response:
    """A case transfer of an office below: what the board's list showed, and no more."""
    person.require(SCOPE)
    found = transfers.get_supervised(
        db=db, transfer_id=transfer_id, organization_id=person.principal.organization_id
    )
    return page(
        request,
        person,
        "board_below_transfer.html",
        db=db,
        transfer=found,
        names=organization_names(db, [found.from_organization_id, found.to_organization_id]),
        since=since(person.language),
    )
