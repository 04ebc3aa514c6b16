"""The FHIR R4 facade's routes: parse, resolve for the caller's organisation, call one domain
service, answer FHIR JSON. Errors are the domain's problems, answered as OperationOutcomes
(`hub.fhir.outcomes.render`, installed for `/fhir/R4` by the app). Not in the OpenAPI
document: the CapabilityStatement (`/fhir/R4/metadata`) describes this face.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntryResponse
from fhir.resources.R4B.task import Task, TaskInput
from pydantic import RootModel
from sqlalchemy.orm import Session

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.idempotency import Answer, IdempotencyKey, idempotent
from hub.api.problems import Problem
from hub.auth.server import get_authority
from hub.auth.tokens import Principal
from hub.fhir import (
    access,
    capability,
    conditional,
    consents,
    creating,
    directory,
    listing,
    patients,
    search,
    tasks,
)
from hub.fhir.media import BASE, FHIR_JSON, as_json, check_accept, fhir_response, read_body
from hub.fhir.outcomes import outcome
from hub.fhir.referrals import service_request, task
from hub.lifecycle import Party
from hub.referrals import cascade, service
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
    rows, cursor_next = listing.find(
        db=db, request=request, organization_id=principal.organization_id, searched=listing.TASK
    )
    told = cascade.withdrawals_told(db, [r.id for r in rows])
    found = [task(r, withdrawn_at=told.get(r.id)) for r in rows]
    return fhir_response(search.searchset(request, "Task", found, cursor_next))


def _task(db: Session, referral: Referral, inputs: list[TaskInput] | None = None) -> Task:
    told = cascade.withdrawals_told(db, [referral.id])
    return task(referral, inputs=inputs, withdrawn_at=told.get(referral.id))


@router.get("/Task/{referral_id}")
def read_task(
    referral: TaskToRead, principal: access.TaskReader, db: DbSession, runtime: CurrentRuntime
) -> Response:
    """The Task; to its recipient, with the other categories the gate releases now as
    `input` (each such read a disclosure: `hub.fhir.patients.task_inputs`)."""
    inputs = None
    if service.party_of(referral, principal.organization_id) is Party.recipient:
        inputs = patients.task_inputs(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            referral=referral,
            actor=principal.actor,
        )
    return fhir_response(_task(db, referral, inputs))


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
    return fhir_response(_task(db, referral))


FhirBody = Annotated[dict[str, Any], Depends(read_body)]
Answered = RootModel[dict[str, Any]]


def _made(
    db: Session, runtime: Services, principal: Principal, wanted: creating.Request
) -> tuple[Referral | None, bool, Problem | None]:
    """The referral the request makes, or the one its condition finds (`hub.fhir.conditional`):
    (referral, whether it was made now, the gate's refusal)."""
    found = conditional.existing(db, organization_id=principal.organization_id, request=wanted)
    if found is not None:
        return found, False, None
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
        return None, False, creating.denied(decision)
    conditional.keep(db, referral=referral, request=wanted)
    db.flush()
    return referral, True, None


def _as_fhir(response: Response, request: Request, resource_type: str) -> Response:
    """The idempotent answer (first given or replayed) as FHIR JSON, with its `Location`."""
    response.headers["content-type"] = FHIR_JSON
    if resource_type == "Task" and response.status_code in (200, 201):
        made = json.loads(bytes(response.body))
        response.headers["Location"] = _location(request, f"Task/{made['id']}")
    return response


def _refused(problem: Problem | None) -> Answer:
    """The gate's refusal, remembered as an OperationOutcome (codes only)."""
    refusal = problem or Problem(500, "internal_error", "No referral and no refusal")
    return Answer(422, Answered(as_json(outcome(refusal))))


@idempotent
def _create_task(
    wanted: creating.Request,
    principal: access.TaskCreator,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
) -> Answer:
    referral, made, refused = _made(db, runtime, principal, wanted)
    if referral is None:
        return _refused(refused)
    return Answer(201 if made else 200, Answered(as_json(_task(db, referral))))


@router.post("/Task")
def create_task(
    request: Request,
    body: FhirBody,
    principal: access.TaskCreator,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
    if_none_exist: Annotated[str | None, Header(max_length=600)] = None,
) -> Response:
    """A referral from a Task with its ServiceRequest contained (201; Task `on-hold` when held
    for review; 422 `consent_denied`); `If-None-Exist` (or the same search in the URL, as
    fhirpy's `create(identifier=...)` sends it) and `Idempotency-Key` honoured (200 with the
    referral a condition finds; a retry gets the first answer)."""
    access.demand(principal, "ServiceRequest", access.CREATE)
    wanted = creating.from_task(body, if_none_exist or conditional.from_query(request))
    answer = _create_task(wanted=wanted, principal=principal, db=db, runtime=runtime, idem=idem)
    return _as_fhir(answer, request, "Task")


@idempotent
def _transact(
    wanted: creating.Request,
    principal: access.TaskCreator,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
) -> Answer:
    referral, made, refused = _made(db, runtime, principal, wanted)
    if referral is None:
        return _refused(refused)
    status = "201 Created" if made else "200 OK"
    entries = [
        BundleEntry(
            response=BundleEntryResponse(status="200 OK", location=f"Patient/{referral.case_id}")
        ),
        BundleEntry(
            resource=service_request(referral),
            response=BundleEntryResponse(status=status, location=f"ServiceRequest/{referral.id}"),
        ),
        BundleEntry(
            resource=_task(db, referral),
            response=BundleEntryResponse(status=status, location=f"Task/{referral.id}"),
        ),
    ]
    return Answer(200, Answered(as_json(Bundle(type="transaction-response", entry=entries))))


@router.post("")
@router.post("/")  # fhirpy's `execute("")` posts to the base with its slash
def transaction(
    request: Request,
    body: FhirBody,
    principal: access.TaskCreator,
    db: DbSession,
    runtime: CurrentRuntime,
    idem: IdempotencyKey,
) -> Response:
    """A transaction Bundle of Patient (the case), ServiceRequest and Task: one referral
    (`ifNoneExist` on the Task or ServiceRequest entry, and `Idempotency-Key`, honoured)."""
    access.demand(principal, "ServiceRequest", access.CREATE)
    wanted = creating.from_bundle(body)
    answer = _transact(wanted=wanted, principal=principal, db=db, runtime=runtime, idem=idem)
    return _as_fhir(answer, request, "Bundle")


@router.get("/ServiceRequest")
def search_service_requests(
    request: Request, principal: access.ServiceRequestSearcher, db: DbSession
) -> Response:
    rows, cursor_next = listing.find(
        db=db,
        request=request,
        organization_id=principal.organization_id,
        searched=listing.SERVICE_REQUEST,
    )
    found = [service_request(r) for r in rows]
    return fhir_response(search.searchset(request, "ServiceRequest", found, cursor_next))


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
