"""A person's notifications: what needs their attention (`hub.notifications`), listed with
the unread first, marked read one by one or all at once; the home page shows the latest.

A notification is the person's own: every query here is by their id, so another person's is
never shown nor marked. It names a request by its id and the event by code; the link leads to
the request's page on the person's side (the sender's tracking, or the recipient's inbox),
whose own rules decide what they see there. A case erased names the case by its id only, with
no link: there is nothing of it left to read.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from hub.api.deps import DbSession
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import CheckedForm, page, text_field
from hub.console.people import CurrentPerson
from hub.legal_bases.models import PersonNotice
from hub.notifications import service as notifications
from hub.notifications.models import Notification
from hub.referrals.models import Referral
from hub.reviews.models import Review
from hub.transfers.models import Transfer
from hub.transfers.requests.models import TransferRequest

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

# how many the home page shows
ON_HOME = 5

# what happened, by code and stage (the English is the message id; translated when rendered)
WHAT: dict[tuple[str, str | None], str] = {
    ("referral.reminder", "answer"): N_("A referral's answer (accept or decline) is due soon"),
    ("referral.reminder", "start"): N_("A referral's service is due to start soon"),
    ("referral.reminder", "follow_up"): N_("A referral's follow-up date is near"),
    ("referral.overdue", "answer"): N_("A referral is waiting past its deadline for an answer"),
    ("referral.overdue", "start"): N_("A referral's service has not started by its deadline"),
    ("referral.overdue", "follow_up"): N_("A referral is past its follow-up date"),
    ("referral.escalation", "answer"): N_(
        "Escalated: a referral has had no answer long past its deadline"
    ),
    ("referral.escalation", "start"): N_(
        "Escalated: a referral's service has not started long past its deadline"
    ),
    ("referral.escalation", "follow_up"): N_(
        "Escalated: a referral is long past its follow-up date"
    ),
    ("referral.reminder", "acknowledge"): N_("A referral's acknowledgement is due soon"),
    ("referral.overdue", "acknowledge"): N_(
        "A referral is waiting past its deadline for an acknowledgement"
    ),
    ("referral.escalation", "acknowledge"): N_("A referral failed: it was never acknowledged"),
    ("referral.reminder", "data_life"): N_(
        "Data received under a referral must be erased soon: confirm it once done"
    ),
    ("referral.overdue", "data_life"): N_(
        "A recipient has not confirmed the erasure of a referral's data by its date"
    ),
    ("transfer.reminder", "acceptance"): N_("A transfer offer's answer is due soon"),
    ("transfer.overdue", "acceptance"): N_("A transfer offer is waiting past its deadline"),
    ("transfer.escalation", "acceptance"): N_(
        "Escalated: a transfer offer has had no answer long past its deadline"
    ),
    ("transfer_request.reminder", "answer"): N_("A transfer request's answer is due soon"),
    ("transfer_request.overdue", "answer"): N_(
        "A transfer request is waiting past its deadline for an answer"
    ),
    ("transfer_request.escalation", "answer"): N_(
        "Escalated: a transfer request has had no answer long past its deadline"
    ),
    # data left on a legal basis, without the person's consent: they are still to be told
    ("person_notice.reminder", None): N_(
        "A person whose data was shared without their consent is still to be informed"
    ),
    # a request on a legal basis waits for two consent officers (the time limit's steps)
    ("review.held", None): N_(
        "A request to share data without the person's consent waits for two consent officers"
    ),
    ("review.reminder", None): N_("A request to share data without consent must be decided soon"),
    ("review.overdue", None): N_(
        "A request to share data without consent is waiting past its deadline"
    ),
    ("review.escalation", None): N_(
        "Escalated: a request to share data without consent is long past its deadline"
    ),
    # a case whose data the organisation held was erased (the stage: why); nothing to link to
    ("case.erased", "request"): N_(
        "A case whose data you received was erased at the person's request: erase your own copies"
    ),
    ("case.erased", "retention"): N_(
        "A case whose data you received was erased at the end of its retention period: "
        "erase your own copies"
    ),
}
FALLBACK = N_("A referral or a transfer needs your attention")


def _link(db: Session, notification: Notification) -> str | None:
    """The request's page on the person's side; None when it is gone."""
    if notification.object_type == "case":
        # an erased case: nothing of it is left to read
        return None
    if notification.object_type == "referral":
        referral = db.get(Referral, notification.object_id)
        if referral is None:
            return None
        if referral.from_organization_id == notification.organization_id:
            return f"/console/board/referrals/{referral.id}"
        return f"/console/received/{referral.id}"
    if notification.object_type == "person_notice":
        if db.get(PersonNotice, notification.object_id) is None:
            return None
        return f"/console/person-notices/{notification.object_id}"
    if notification.object_type == "review":
        if db.get(Review, notification.object_id) is None:
            return None
        return f"/console/reviews/{notification.object_id}"
    if notification.object_type == "transfer_request":
        if db.get(TransferRequest, notification.object_id) is None:
            return None
        return f"/console/transfer-requests/{notification.object_id}"
    transfer = db.get(Transfer, notification.object_id)
    if transfer is None:
        return None
    if transfer.from_organization_id == notification.organization_id:
        return f"/console/transfers/{transfer.id}"
    return f"/console/offers/{transfer.id}"


def rows(db: Session, items: list[Notification]) -> list[dict[str, Any]]:
    return [
        {
            "id": n.id,
            "what": WHAT.get((n.code, n.stage), FALLBACK),
            "code": n.code,
            "kind": n.object_type,
            "object_id": n.object_id,
            "link": _link(db, n),
            "at": n.created_at,
            "unread": n.read_at is None,
        }
        for n in items
    ]


def attention(db: Session, user_id: str) -> dict[str, Any]:
    """The home page's "needs your attention": the unread count and the latest unread."""
    unread = notifications.get_page(db=db, user_id=user_id, unread_only=True, limit=ON_HOME)
    return {
        "unread": notifications.unread_count(db=db, user_id=user_id),
        "rows": rows(db, unread),
    }


@router.get("/console/notifications")
def listing(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    user_id = person.user.id
    items = notifications.get_page(db=db, user_id=user_id)
    return page(
        request,
        person,
        "notifications.html",
        db=db,
        notices=rows(db, items),
        unread=notifications.unread_count(db=db, user_id=user_id),
        marked=request.query_params.get("marked") == "1",
    )


@router.post("/console/notifications/read")
def mark_read(person: CurrentPerson, form: CheckedForm, db: DbSession) -> Response:
    """Mark one notification read (`id`), or all of the person's (`all`)."""
    chosen = text_field(form, "id", max_length=32)
    ids = None if text_field(form, "all", max_length=8) == "1" else [chosen]
    notifications.mark_read(db=db, user_id=person.user.id, notification_ids=ids)
    return RedirectResponse("/console/notifications?marked=1", status_code=303)
