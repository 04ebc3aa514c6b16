"""The sending office's tracking board: the referrals and transfers it sent, what needs chasing
first, the figures as charts with their tables, and each referral's history.

Every rule is a service's, as the API uses them: which referrals are the office's and their
order (`figures.tracking`), the figures (`figures.figures`, as GET /v1/referrals/figures), the
office's transfers (`transfers.service.get_page`, as GET /v1/transfers?role=sent), a referral as
its sender reads it and its history (`reading.read`, `reading.events`, as GET
/v1/referrals/{id} and /events). This module shows them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound
from hub.console import i18n, supervision
from hub.console.charts import Bar, bar_chart
from hub.console.errors import ConsoleRoute
from hub.console.history import parties, since
from hub.console.labels import LABELS, N_
from hub.console.pages import organization_names, page
from hub.console.people import CurrentPerson
from hub.lifecycle import Party
from hub.referrals import figures, reading, service
from hub.transfers import service as transfers
from hub.transfers.lifecycle import FINAL as TRANSFERS_FINAL
from hub.transfers.schemas import Role as TransferRole

router = APIRouter(prefix="/console/board", route_class=ConsoleRoute, include_in_schema=False)

# the board is the sending office's: its case workers chase what they sent, and those who read
# the office's referrals without making them (consent officers, administrators) follow them,
# the offices below theirs too, as GET /v1/referrals allows them (`referrals:read`)
SCOPE = "referrals:read"
TRANSFER_LIMIT = 50
HOURS = N_("%(hours)s h")
NO_ACKNOWLEDGEMENT = N_("none acknowledged yet")


def _charts(found: figures.ReferralFigures, language: str) -> dict[str, object]:
    """The three charts of the figures, their numbers written as the tables write them."""
    gettext = i18n.translations(language).gettext

    def number(value: float) -> str:
        return i18n.format_number(value, language)

    def hours(value: float | None) -> str:
        if value is None:
            return gettext(NO_ACKNOWLEDGEMENT)
        return gettext(HOURS) % {"hours": number(value)}

    status_labels = LABELS["referral_statuses"]
    return {
        "status": bar_chart(
            chart_id="chart-status",
            title=gettext("Referrals by status"),
            lead=gettext("Number of referrals your office sent, by status."),
            bars=[
                Bar(gettext(status_labels.get(s.status, s.status)), s.count, number(s.count))
                for s in found.by_status
            ],
        ),
        "partner": bar_chart(
            chart_id="chart-partner",
            title=gettext("Referrals by recipient"),
            lead=gettext("Number of referrals your office sent, by recipient."),
            bars=[Bar(p.name, p.count, number(p.count)) for p in found.by_partner],
        ),
        "acknowledgement": bar_chart(
            chart_id="chart-acknowledgement",
            title=gettext("Median time to acknowledge, by recipient"),
            lead=gettext(
                "Median time from sending to acknowledgement, in hours, for the referrals "
                "sent in the last %(weeks)s weeks."
            )
            % {"weeks": found.weeks},
            bars=[
                Bar(a.name, a.median_hours, hours(a.median_hours)) for a in found.acknowledgement
            ],
        ),
        "hours": hours,
    }


@router.get("")
def board(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    person.require(SCOPE)
    organization_id = person.principal.organization_id
    closed = request.query_params.get("show") == "closed"
    # "my office and the offices below it": the offices below's items too (`?scope=tree`)
    supervising = supervision.has_offices_below(db, organization_id)
    tree = supervising and request.query_params.get("scope") == "tree"
    below = supervision.offices_below(db, organization_id, closed=closed) if tree else None
    referrals = figures.tracking(db=db, organization_id=organization_id, closed=closed)
    statuses = sorted(TRANSFERS_FINAL) if closed else None
    sent_transfers, _ = transfers.get_page(
        db=db,
        organization_id=organization_id,
        role=TransferRole.sent,
        statuses=statuses,
        cursor=None,
        limit=TRANSFER_LIMIT,
    )
    # a transfer's last move is its `updated_at`: its row changes only as it moves (sent,
    # held, resubmitted, answered), it has no deadline markers as a referral has
    if not closed:
        # open ones only, the longest waiting first (a transfer has no deadline nor urgency)
        sent_transfers = [t for t in reversed(sent_transfers) if t.status not in TRANSFERS_FINAL]
    found = figures.figures(db=db, organization_id=organization_id)
    recipients = [r.to_organization_id for r in referrals] + [
        t.to_organization_id for t in sent_transfers
    ]
    if below is not None:
        recipients += supervision.parties_of(below)
    return page(
        request,
        person,
        "board.html",
        db=db,
        closed=closed,
        supervising=supervising,
        tree=tree,
        below=below,
        referrals=referrals,
        transfers=sent_transfers,
        figures=found,
        charts=_charts(found, person.language),
        names=organization_names(db, recipients),
        since=since(person.language),
    )


@router.get("/referrals/{referral_id}")
def history(
    referral_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """A referral the office sent: where it is, its moves, and a consent officer's answer and
    why (as the API shows its sender). Another organisation's, or one received, is 404."""
    person.require(SCOPE)
    organization_id = person.principal.organization_id
    referral = service.get(db=db, referral_id=referral_id, organization_id=organization_id)
    if service.party_of(referral, organization_id) is not Party.sender:
        raise NotFound("referral")
    read = reading.read(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        referral=referral,
        organization_id=organization_id,
        actor=person.actor,
        with_payload=False,
    )
    events = reading.events(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        referral=referral,
        organization_id=organization_id,
        actor=person.actor,
    )
    return page(
        request,
        person,
        "board_referral.html",
        db=db,
        referral=read,
        events=events,
        names=organization_names(db, parties(events, read.to_organization_id, organization_id)),
        since=since(person.language),
    )
