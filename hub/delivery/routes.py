"""Delivery channels (administrators) and deliveries (the parties, and administrators).

The parties see the deliveries of their referrals and transfers (loaded for the caller's
organisation by the requests' own typed dependencies: another's is a 404 before the route
runs); only the sender redelivers (the recipient's answer is what was lost). Administrators
see every dead letter.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session

from hub.access.deps import Principal, require_scope
from hub.api.deps import CurrentRuntime, DbSession
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.api.problems import NotFound
from hub.connectors import channels
from hub.connectors.schemas import ChannelRead, ChannelSet
from hub.delivery import service
from hub.delivery.models import Delivery
from hub.delivery.schemas import DeliveryPage, DeliveryRead, DeliveryStatus
from hub.lifecycle import Party
from hub.organizations import service as organizations
from hub.referrals import service as referrals
from hub.referrals.routes import ReferralToMove, ReferralToRead
from hub.services import Services
from hub.transfers import service as transfers
from hub.transfers.routes import TransferToMove, TransferToRead

router = APIRouter(tags=["deliveries"])

Admin = Annotated[Principal, Depends(require_scope("admin"))]
Writer = Annotated[Principal, Depends(require_scope("referrals:write"))]
TransferWriter = Annotated[Principal, Depends(require_scope("transfers:write"))]


def _redeliver_latest(
    db: Session, runtime: Services, principal: Principal, latest: Delivery
) -> DeliveryRead:
    redone = service.redeliver(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        delivery=latest,
        actor=principal.actor,
        organization_id=principal.organization_id,
    )
    return service.read(redone)


@router.get("/v1/organizations/{organization_id}/channel", response_model=ChannelRead)
def read_channel(organization_id: str, principal: Admin, db: DbSession) -> ChannelRead:
    organizations.get_or_raise(db=db, organization_id=organization_id)
    return channels.get_read(db=db, organization_id=organization_id)


@router.put("/v1/organizations/{organization_id}/channel", response_model=ChannelRead)
def set_channel(
    organization_id: str,
    body: ChannelSet,
    principal: Admin,
    db: DbSession,
    runtime: CurrentRuntime,
) -> ChannelRead:
    organizations.get_or_raise(db=db, organization_id=organization_id)
    row = channels.set_channel(
        db=db,
        keyring=runtime.keyring,
        settings=runtime.settings,
        organization_id=organization_id,
        data=body,
        actor=principal.actor,
    )
    return channels.read(organization_id, row)


@router.get("/v1/referrals/{referral_id}/deliveries", response_model=DeliveryPage)
def referral_deliveries(referral: ReferralToRead, db: DbSession) -> DeliveryPage:
    return DeliveryPage(items=service.listed(db=db, referral=referral), next=None)


@router.post(
    "/v1/referrals/{referral_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
)
def redeliver_referral(
    referral: ReferralToMove, principal: Writer, db: DbSession, runtime: CurrentRuntime
) -> DeliveryRead:
    """Send a referral that failed as undeliverable again (its sender only)."""
    if referrals.party_of(referral, principal.organization_id) is not Party.sender:
        raise NotFound("referral")
    return _redeliver_latest(db, runtime, principal, service.latest(db=db, referral=referral))


@router.get("/v1/transfers/{transfer_id}/deliveries", response_model=DeliveryPage)
def transfer_deliveries(transfer: TransferToRead, db: DbSession) -> DeliveryPage:
    return DeliveryPage(items=service.listed(db=db, transfer=transfer), next=None)


@router.post(
    "/v1/transfers/{transfer_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
)
def redeliver_transfer(
    transfer: TransferToMove, principal: TransferWriter, db: DbSession, runtime: CurrentRuntime
) -> DeliveryRead:
    """Offer a transfer again whose push was given up on (its sender only)."""
    if transfers.party_of(transfer, principal.organization_id) is not Party.sender:
        raise NotFound("transfer")
    return _redeliver_latest(db, runtime, principal, service.latest(db=db, transfer=transfer))


@router.get("/v1/deliveries", response_model=DeliveryPage)
def list_deliveries(
    principal: Admin,
    db: DbSession,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> DeliveryPage:
    """Every organisation's deliveries (`status=dead`: the dead letters), newest first."""
    items, cursor_next = service.get_page(
        db=db,
        status=delivery_status,
        organization_id=organization_id,
        cursor=cursor,
        limit=limit,
    )
    return DeliveryPage(items=items, next=cursor_next)


@router.post(
    "/v1/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
)
def redeliver(
    delivery_id: str, principal: Admin, db: DbSession, runtime: CurrentRuntime
) -> DeliveryRead:
    delivery: Delivery = service.get_any(db=db, delivery_id=delivery_id)
    redone = service.redeliver(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        delivery=delivery,
        actor=principal.actor,
        organization_id=None,
    )
    return service.read(redone)
