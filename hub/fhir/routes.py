"""The FHIR R4 facade's routes: parse, resolve for the caller's organisation, call one domain
service, answer FHIR JSON. Errors are the domain's problems, answered as OperationOutcomes
(`hub.fhir.outcomes.render`, installed for `/fhir/R4` by the app). Not in the OpenAPI
document: the CapabilityStatement (`/fhir/R4/metadata`) describes this face.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntryResponse
from sqlalchemy.orm import Session

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import Problem
from hub.auth.server import get_authority
from hub.auth.tokens import Principal
from hub.fhir import access, capability, consents, creating, directory, patients, search, tasks
from hub.fhir.media import BASE, check_accept, fhir_response, read_body
from hub.fhir.outcomes import outcome
from hub.fhir.referrals import service_request, task
from hub.referrals import service
from hub.referrals.models import Referral
from hub.services import Services

router = APIRouter(
    prefix=BASE, tags=["fhir"], include_in_schema=False, dependencies=[Depends(check_accept)]
)


def _to_read(referral_id: str, principal: access.TaskReader, db: DbSession) -> Referral:
    return service.get(db=db, referral_id=referral_id, organization_id=principal.organization_id)


def _to_move(referral_id: str, principal: access.TaskUpdater, db: DbSession) -> Referral:
    return service.get(
        db=db, referral_id=referral_id, organization_id=principal.organization_id, lock=True
    )


def _request_to_read(
    referral_id: str, principal: access.ServiceRequestReader, db: DbSession
) -> Referral:
    return service.get(db=db, referral_id=referral_id, organization_id=principal.organization_id)


# the referral in the path if the caller is a party to it (404 otherwise, in the query)
TaskToRead = Annotated[Referral, Depends(_to_read)]
TaskToMove = Annotated[Referral, Depends(_to_move)]
RequestToRead = Annotated[Referral, Depends(_request_to_read)]


def _location(request: Request, path: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{BASE}/{path}"


@router.get("/metadata")
def metadata(request: Request) -> Response:
    """The CapabilityStatement; no token needed."""
    authority = get_authority(request.app)
    return fhir_response(capability.statement(authority, str(request.base_url)))


# --- Task and ServiceRequest: the referral ---------------------------------------------------


@router.get("/Task")
def search_tasks(request: Request, principal: access.TaskSearcher, db: DbSession) -> Response:
    rows, cursor_next = tasks.find(
        db=db, request=request, organization_id=principal.organization_id
    )
    return fhir_response(search.searchset(request, "Task", [task(r) for r in rows], cursor_next))


@router.get("/Task/{referral_id}")
def read_task(referral: TaskToRead) -> Response:
    return fhir_response(task(referral))


@router.put("/Task/{referral_id}")
async def update_task(
    request: Request,
    principal: access.TaskUpdater,
    referral: TaskToMove,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """A party's move: the Task's new `status` (with `statusReason`, `output`)."""
    body = await read_body(request)
    tasks.update(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        referral=referral,
        principal=principal,
        body=body,
    )
    db.flush()  # updated_at set by the move, shown in the answer's meta
    return fhir_response(task(referral))


def _create(
    db: Session, runtime: Services, principal: Principal, wanted: creating.Request
) -> tuple[Referral | None, Problem | None]:
    referral, decision = creating.create(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        actor=principal.actor,
        organization_id=principal.organization_id,
        request=wanted,
    )
    if referral is None:
        # answered, not raised: the gate's decision and the audit entry are kept, as in /v1
        return None, creating.denied(decision)
    db.flush()
    return referral, None


@router.post("/Task")
async def create_task(
    request: Request, principal: access.TaskCreator, db: DbSession, runtime: CurrentRuntime
) -> Response:
    """A referral from a Task with its ServiceRequest contained (201; Task `on-hold` when held
    for review; 422 `consent_denied`)."""
    access.demand(principal, "ServiceRequest", access.CREATE)
    wanted = creating.from_task(await read_body(request))
    referral, refused = _create(db, runtime, principal, wanted)
    if refused is not None or referral is None:
        return fhir_response(outcome(refused or Problem(500, "internal_error", "")), 422)
    location = _location(request, f"Task/{referral.id}")
    return fhir_response(task(referral), 201, headers={"Location": location})


@router.post("")
@router.post("/")  # fhirpy's `execute("")` posts to the base with its slash
async def transaction(
    request: Request, principal: access.TaskCreator, db: DbSession, runtime: CurrentRuntime
) -> Response:
    """A transaction Bundle of Patient (the case), ServiceRequest and Task: one referral."""
    access.demand(principal, "ServiceRequest", access.CREATE)
    wanted = creating.from_bundle(await read_body(request))
    referral, refused = _create(db, runtime, principal, wanted)
    if refused is not None or referral is None:
        return fhir_response(outcome(refused or Problem(500, "internal_error", "")), 422)
    entries = [
        BundleEntry(
            response=BundleEntryResponse(status="200 OK", location=f"Patient/{referral.case_id}")
        ),
        BundleEntry(
            resource=service_request(referral),
            response=BundleEntryResponse(
                status="201 Created", location=f"ServiceRequest/{referral.id}"
            ),
        ),
        BundleEntry(
            resource=task(referral),
            response=BundleEntryResponse(status="201 Created", location=f"Task/{referral.id}"),
        ),
    ]
    bundle = Bundle(type="transaction-response", entry=entries)
    return fhir_response(bundle, 200)


@router.get("/ServiceRequest/{referral_id}")
def read_service_request(referral: RequestToRead) -> Response:
    return fhir_response(service_request(referral))


# --- Patient and Consent: through the gate ----------------------------------------------------


@router.get("/Patient/{case_id}")
def read_patient(
    case_id: str, principal: access.PatientReader, db: DbSession, runtime: CurrentRuntime
) -> Response:
    """The recipient's view, released by the consent gate; each read is a disclosure."""
    referral = patients.through(db=db, case_id=case_id, organization_id=principal.organization_id)
    found = patients.read(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        referral=referral,
        actor=principal.actor,
    )
    if isinstance(found, Problem):
        # answered, not raised: what the gate did (a cancellation) is kept, as in /v1
        return fhir_response(outcome(found), found.status)
    return fhir_response(found)


@router.get("/Consent/{consent_id}")
def read_consent(consent_id: str, principal: access.ConsentReader, db: DbSession) -> Response:
    return fhir_response(
        consents.read(db=db, consent_id=consent_id, organization_id=principal.organization_id)
    )


# --- the directory --------------------------------------------------------------------------


@router.get("/Organization")
def search_organizations(
    request: Request, principal: access.OrganizationSearcher, db: DbSession, runtime: CurrentRuntime
) -> Response:
    found = directory.find_organizations(db=db, policy=runtime.policy, request=request)
    return fhir_response(search.searchset(request, "Organization", found, None))


@router.get("/Organization/{organization_id}")
def read_organization(
    organization_id: str, principal: access.OrganizationReader, db: DbSession
) -> Response:
    return fhir_response(directory.read_organization(db=db, organization_id=organization_id))


@router.get("/HealthcareService")
def search_services(
    request: Request, principal: access.ServiceSearcher, db: DbSession, runtime: CurrentRuntime
) -> Response:
    found, cursor_next = directory.find_services(db=db, policy=runtime.policy, request=request)
    return fhir_response(search.searchset(request, "HealthcareService", found, cursor_next))


@router.get("/HealthcareService/{service_id}")
def read_service(service_id: str, principal: access.ServiceReader, db: DbSession) -> Response:
    return fhir_response(directory.read_service(db=db, service_id=service_id))
