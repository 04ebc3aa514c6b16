"""The directory of organisations (any partner) and its administration (`admin` scope, held
only by the hub operator's clients: see `hub.auth.scopes`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from hub.access.deps import CurrentPrincipal, Principal, require_scope
from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound
from hub.auth import clients
from hub.organizations import service
from hub.organizations.schemas import (
    AgreementCreate,
    AgreementPage,
    AgreementRead,
    AgreementRevoke,
    ClientCreate,
    ClientCreated,
    ClientPage,
    ClientRead,
    OrganizationCreate,
    OrganizationPage,
    OrganizationRead,
)

router = APIRouter(tags=["organizations"])

Admin = Annotated[Principal, Depends(require_scope("admin"))]


@router.get("/v1/organizations", response_model=OrganizationPage)
def directory(principal: CurrentPrincipal, db: DbSession) -> OrganizationPage:
    # the hub's operator is not a partner: only its own administrators see it listed
    rows = service.get_all(db=db, with_operator=principal.has_scope("admin"))
    return OrganizationPage(items=[OrganizationRead.model_validate(o) for o in rows])


@router.get("/v1/organizations/{organization_id}", response_model=OrganizationRead)
def read_organization(
    organization_id: str, principal: CurrentPrincipal, db: DbSession
) -> OrganizationRead:
    if principal.has_scope("admin"):
        org = service.get(db=db, organization_id=organization_id)
    else:
        org = service.get_partner(db=db, organization_id=organization_id)
    if org is None:
        raise NotFound("organization")
    return OrganizationRead.model_validate(org)


@router.post(
    "/v1/organizations", status_code=status.HTTP_201_CREATED, response_model=OrganizationRead
)
def create_organization(
    body: OrganizationCreate, principal: Admin, db: DbSession, runtime: CurrentRuntime
) -> OrganizationRead:
    org = service.create(db=db, policy=runtime.policy, actor=principal.actor, data=body)
    return OrganizationRead.model_validate(org)


@router.get("/v1/agreements", response_model=AgreementPage)
def list_agreements(principal: CurrentPrincipal, db: DbSession) -> AgreementPage:
    # hub administrators see every agreement; a partner sees those it is party to
    scope_org = None if principal.has_scope("admin") else principal.organization_id
    rows = service.get_agreements(db=db, organization_id=scope_org)
    return AgreementPage(items=[AgreementRead.model_validate(a) for a in rows])


@router.post("/v1/agreements", status_code=status.HTTP_201_CREATED, response_model=AgreementRead)
def create_agreement(
    body: AgreementCreate, principal: Admin, db: DbSession, runtime: CurrentRuntime
) -> AgreementRead:
    agreement = service.create_agreement(
        db=db, policy=runtime.policy, actor=principal.actor, data=body
    )
    return AgreementRead.model_validate(agreement)


@router.post("/v1/agreements/{agreement_id}/revoke", response_model=AgreementRead)
def revoke_agreement(
    agreement_id: str, principal: Admin, db: DbSession, body: AgreementRevoke | None = None
) -> AgreementRead:
    """End a data sharing agreement now: the consent gate no longer counts it from the next
    decision on (409 `agreement_revoked` when it was revoked already)."""
    agreement = service.get_agreement_or_raise(db=db, agreement_id=agreement_id)
    service.revoke_agreement(
        db=db, actor=principal.actor, agreement=agreement, reason=body.reason if body else None
    )
    return AgreementRead.model_validate(agreement)


@router.get("/v1/organizations/{organization_id}/clients", response_model=ClientPage)
def list_clients(organization_id: str, principal: Admin, db: DbSession) -> ClientPage:
    service.get_or_raise(db=db, organization_id=organization_id)
    rows = clients.get_all(db=db, organization_id=organization_id)
    return ClientPage(items=[ClientRead.model_validate(c) for c in rows])


@router.post(
    "/v1/organizations/{organization_id}/clients",
    status_code=status.HTTP_201_CREATED,
    response_model=ClientCreated,
)
def create_client(
    organization_id: str, body: ClientCreate, principal: Admin, db: DbSession
) -> ClientCreated:
    client, secret = clients.create_client(
        db=db,
        organization_id=organization_id,
        scope=body.scope,
        name=body.name,
        jwks=body.jwks,
        actor=principal.actor,
    )
    return ClientCreated(**ClientRead.model_validate(client).model_dump(), client_secret=secret)


@router.delete(
    "/v1/organizations/{organization_id}/clients/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
def revoke_client(
    organization_id: str, client_id: str, principal: Admin, db: DbSession
) -> Response:
    client = clients.get(db=db, client_id=client_id)
    if client is None or client.organization_id != organization_id:
        raise NotFound("client")
    clients.revoke_client(db=db, client_id=client_id, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
