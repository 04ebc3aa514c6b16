"""The service directory's API: any authenticated client searches and reads it; the hub's
administrators (`admin`) edit any organisation's services, a partner (`services:write`) its
own, and another organisation's service is 404 to it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from hub.access.deps import (
    CurrentPrincipal,
    Principal,
    any_scope_security,
    require_any_scope,
)
from hub.api.deps import CurrentRuntime, DbSession
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.api.problems import NotFound, Unprocessable
from hub.auth.scopes import ADMIN
from hub.service_directory import service
from hub.service_directory.schemas import (
    AREA_PATH,
    LANGUAGE,
    Capacity,
    ServiceCreate,
    ServicePage,
    ServiceRead,
    ServiceUpdate,
    Sex,
)

router = APIRouter(prefix="/v1/services", tags=["services"])

WRITE_SCOPES = (ADMIN, "services:write")
Editor = Annotated[Principal, Depends(require_any_scope(*WRITE_SCOPES))]
EDITING = any_scope_security(*WRITE_SCOPES)


def _editing_for(principal: Principal) -> str | None:
    """The organisation whose services the caller edits; None: any (the administrators)."""
    return None if principal.has_scope(ADMIN) else principal.organization_id


@router.get(
    "",
    response_model=ServicePage,
    responses={400: {"description": "The cursor is not valid (`invalid_cursor`)"}},
)
def search(
    principal: CurrentPrincipal,
    db: DbSession,
    runtime: CurrentRuntime,
    type: Annotated[
        str | None, Query(max_length=40, description="a service type of the policy")
    ] = None,
    area: Annotated[
        str | None,
        Query(
            pattern=AREA_PATH,
            max_length=399,
            description="an administrative area's code (`NE-AG`) or code path (`NE/NE-AG`): "
            "services offered in it or in any of its sub-areas",
        ),
    ] = None,
    age: Annotated[
        int | None, Query(ge=0, le=130, description="the person's age: services taking it")
    ] = None,
    sex: Annotated[Sex | None, Query(description="services taking this sex (or every sex)")] = None,
    language: Annotated[
        str | None, Query(pattern=LANGUAGE, description="services offered in this language")
    ] = None,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    capacity: Annotated[Capacity | None, Query(description="intake capacity")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ServicePage:
    """The service directory, newest first, filtered (every filter given must match)."""
    wanted = service.ServiceFilter(
        service_type=type,
        area=area,
        age=age,
        sex=sex,
        language=language,
        organization_id=organization_id,
        capacity=capacity,
    )
    items, cursor_next = service.find(
        db=db, policy=runtime.policy, wanted=wanted, cursor=cursor, limit=limit
    )
    return ServicePage(items=items, next=cursor_next)


@router.get("/{service_id}", response_model=ServiceRead)
def read_service(service_id: str, principal: CurrentPrincipal, db: DbSession) -> ServiceRead:
    return service.read(db=db, service=service.get(db=db, service_id=service_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ServiceRead,
    openapi_extra=EDITING,
    responses={404: {"description": "A partner named another organisation than its own"}},
)
def create_service(
    body: ServiceCreate, principal: Editor, db: DbSession, runtime: CurrentRuntime
) -> ServiceRead:
    """A new service: the administrators name its organisation, a partner adds its own (another
    organisation named is 404)."""
    editing = _editing_for(principal)
    if editing is None:
        if body.organization_id is None:
            raise Unprocessable(
                "organization_required",
                "Name the organisation that offers the service",
                field="organization_id",
            )
        organization_id = body.organization_id
    else:
        if body.organization_id not in (None, editing):
            raise NotFound("organization")
        organization_id = editing
    created = service.create(
        db=db,
        policy=runtime.policy,
        actor=principal.actor,
        organization_id=organization_id,
        data=body,
    )
    return service.read(db=db, service=created)


@router.patch("/{service_id}", response_model=ServiceRead, openapi_extra=EDITING)
def update_service(
    service_id: str,
    body: ServiceUpdate,
    principal: Editor,
    db: DbSession,
    runtime: CurrentRuntime,
) -> ServiceRead:
    """Change a service (its capacity when it fills up, its verification date...)."""
    found = service.get_to_edit(
        db=db, service_id=service_id, organization_id=_editing_for(principal)
    )
    service.update(db=db, policy=runtime.policy, actor=principal.actor, service=found, data=body)
    return service.read(db=db, service=found)


@router.delete("/{service_id}", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=EDITING)
def delete_service(service_id: str, principal: Editor, db: DbSession) -> Response:
    found = service.get_to_edit(
        db=db, service_id=service_id, organization_id=_editing_for(principal)
    )
    service.delete(db=db, actor=principal.actor, service=found)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
