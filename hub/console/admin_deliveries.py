"""Administrators: the dead deliveries (out of attempts, or refused for good), why each one
failed, and redelivering one.

The same services as `GET /v1/deliveries?status=dead` and `POST /v1/deliveries/{id}/redeliver`:
the list shows ids, organisations, the channel and the outbox's error summary (a code, never a
partner's answer); no payload, nothing about the person. Redelivering queues the delivery again
under its own id, and the consent gate is asked again at the send.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.pagination import DEFAULT_LIMIT
from hub.console.admin_forms import require_admin
from hub.console.errors import ConsoleRoute
from hub.console.pages import CheckedForm, organization_names, page
from hub.console.people import CurrentPerson
from hub.delivery import service as deliveries
from hub.delivery.schemas import DeliveryStatus

router = APIRouter(
    prefix="/console/admin/deliveries", route_class=ConsoleRoute, include_in_schema=False
)


@router.get("")
def listed(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    require_admin(person)
    cursor = request.query_params.get("cursor") or None
    items, cursor_next = deliveries.get_page(
        db=db,
        status=DeliveryStatus.dead,
        organization_id=None,
        cursor=cursor[:200] if cursor else None,
        limit=DEFAULT_LIMIT,
    )
    return page(
        request,
        person,
        "admin_deliveries.html",
        db=db,
        items=items,
        next_cursor=cursor_next,
        names=organization_names(
            db,
            [d.sender_organization_id for d in items]
            + [d.recipient_organization_id for d in items],
        ),
        done=request.query_params.get("done") == "queued",
    )


@router.post("/{delivery_id}/redeliver")
def redeliver(
    delivery_id: str,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    require_admin(person)
    delivery = deliveries.get_any(db=db, delivery_id=delivery_id)
    deliveries.redeliver(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        delivery=delivery,
        actor=person.actor,
        organization_id=None,
    )
    return RedirectResponse("/console/admin/deliveries?done=queued", 303)
