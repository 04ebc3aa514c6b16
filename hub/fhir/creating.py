"""A sender makes a referral through FHIR: a transaction Bundle (Patient, ServiceRequest,
Task) or a Task with its ServiceRequest contained. Both become the `/v1` request
(`ReferralCreate`) and go to the same `hub.referrals.sending.create`: the same checks, the same
gate, the same answers (sent, held for review: Task `on-hold`, or refused: 422
`consent_denied` with the gate's reasons).

What is read:
- the case: the Patient's identifier, the case's own reference
  (`urn:referral-hub:case-reference`) or its id (`urn:referral-hub:case`), or
  `Task.for` = `Patient/{case id}`; a case of another organisation is not found (404);
- the recipient: `ServiceRequest.performer` or `Task.owner` (`Organization/{id}`);
- the service type: `ServiceRequest.code`; the purpose: `ServiceRequest.reasonCode`; the data
  categories asked for: `ServiceRequest.orderDetail`; the urgency: `priority`; the note:
  `ServiceRequest.note` (all codes in the hub's systems, checked against the policy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task
from pydantic import ValidationError
from sqlalchemy.orm import Session

from hub.api.problems import NotFound, Problem, Unprocessable
from hub.cases import service as cases
from hub.consent.gate import Decision
from hub.crypto.keyring import KeyEncryptionKeys
from hub.fhir import codes
from hub.fhir.parsing import parse
from hub.policy.loader import Policy
from hub.referrals import sending
from hub.referrals.models import Referral
from hub.referrals.schemas import ReferralCreate


@dataclass(frozen=True)
class Request:
    """What a sender asked for, in FHIR's words."""

    case: Reference | Patient
    service_request: ServiceRequest
    task: Task | None
    # conditional creates: resource type → its `If-None-Exist` search (`hub.fhir.conditional`)
    conditions: dict[str, str] = field(default_factory=dict)


def _invalid(message: str) -> Problem:
    return Problem(400, "invalid_resource", message)


def _code(concepts: list[CodeableConcept] | None, system: str, field: str) -> list[str]:
    found = [
        str(c.code)
        for concept in concepts or ()
        for c in concept.coding or ()
        if c.system == system and c.code
    ]
    if not found:
        raise Unprocessable("missing_value", f"Give {field} as a code of {system}", field=field)
    return found


def _id_of(reference: Reference | None, resource: str, field: str) -> str:
    if reference is not None and reference.reference:
        found = reference.reference.removeprefix(f"{resource}/")
        if found != reference.reference and found and "/" not in found:
            return found
    identifier = reference.identifier if reference is not None else None
    if (
        identifier is not None
        and identifier.system == codes.ORGANIZATION_SYSTEM
        and identifier.value
    ):
        return str(identifier.value)
    raise Unprocessable("missing_value", f"Give {field} as a {resource} reference", field=field)


def from_bundle(body: dict[str, Any]) -> Request:
    """The Patient, ServiceRequest and Task of a transaction Bundle, linked by fullUrl."""
    bundle = parse(Bundle, body)
    if bundle.type != "transaction":
        raise _invalid("The Bundle must be a transaction")
    by_type: dict[str, list[tuple[str | None, Any]]] = {}
    conditions: dict[str, str] = {}
    for entry in bundle.entry or ():
        if entry.resource is None:
            raise _invalid("Every entry needs a resource")
        kind = entry.resource.get_resource_type()
        if entry.request is None or entry.request.method not in ("POST", "PUT"):
            raise _invalid("Every entry must be created (request.method POST)")
        by_type.setdefault(kind, []).append((entry.fullUrl, entry.resource))
        if entry.request.ifNoneExist and kind in ("ServiceRequest", "Task"):
            conditions[kind] = str(entry.request.ifNoneExist)
    if sorted(by_type) != ["Patient", "ServiceRequest", "Task"] or any(
        len(v) != 1 for v in by_type.values()
    ):
        raise _invalid("The Bundle holds one Patient, one ServiceRequest and one Task")
    patient_url, patient = by_type["Patient"][0]
    request_url, service_request = by_type["ServiceRequest"][0]
    _, task = by_type["Task"][0]
    if service_request.subject is None or service_request.subject.reference != patient_url:
        raise _invalid("ServiceRequest.subject must refer to the Bundle's Patient")
    if task.focus is None or task.focus.reference != request_url:
        raise _invalid("Task.focus must refer to the Bundle's ServiceRequest")
    return Request(case=patient, service_request=service_request, task=task, conditions=conditions)


def from_task(body: dict[str, Any], if_none_exist: str | None = None) -> Request:
    """A Task whose focus is its contained ServiceRequest and whose `for` names the case
    (`If-None-Exist`, the header, a condition on the Task)."""
    task = parse(Task, body)
    contained = {
        f"#{r.id}": r for r in task.contained or () if r.get_resource_type() == "ServiceRequest"
    }
    if task.focus is None or task.focus.reference not in contained:
        raise _invalid("Task.focus must refer to a contained ServiceRequest")
    if task.for_fhir is None:
        raise Unprocessable("missing_value", "Task.for must name the case", field="for")
    try:
        service_request = ServiceRequest.model_validate(contained[task.focus.reference])
    except ValidationError:
        raise _invalid("The contained ServiceRequest is not valid") from None
    return Request(
        case=task.for_fhir,
        service_request=service_request,
        task=task,
        conditions={"Task": if_none_exist} if if_none_exist else {},
    )


def _case_id(db: Session, request: Request, organization_id: str) -> str:
    """The sender's case the request names; another organisation's is not found."""
    if isinstance(request.case, Reference):
        identifiers = [request.case.identifier] if request.case.identifier else []
        if request.case.reference and request.case.reference.startswith("Patient/"):
            return request.case.reference.removeprefix("Patient/")
    else:
        identifiers = list(request.case.identifier or ())
    for identifier in identifiers:
        if identifier.system == codes.CASE_SYSTEM and identifier.value:
            return str(identifier.value)
        if identifier.system == codes.CASE_REFERENCE_SYSTEM and identifier.value:
            found = cases.find_by_reference(
                db=db, organization_id=organization_id, reference=str(identifier.value)
            )
            if found is None:
                raise NotFound("case")
            return found.id
    raise Unprocessable(
        "missing_value",
        "Name the case by the Patient's identifier",
        f"Use {codes.CASE_REFERENCE_SYSTEM} (the case's reference) or {codes.CASE_SYSTEM}.",
        field="Patient.identifier",
    )


def to_create(db: Session, request: Request, organization_id: str) -> ReferralCreate:
    sr = request.service_request
    if sr.intent not in ("order", "original-order", "plan", "proposal"):
        raise _invalid("ServiceRequest.intent must be order")
    recipient = _id_of((sr.performer or [None])[0], "Organization", "performer")
    owner = request.task.owner if request.task is not None else None
    if owner is not None and _id_of(owner, "Organization", "owner") != recipient:
        raise Unprocessable("owner_mismatch", "Task.owner must be the ServiceRequest's performer")
    urgency = "normal"
    if sr.priority is not None:
        if sr.priority not in codes.URGENCY_FOR_PRIORITY:
            raise Unprocessable(
                "unknown_value",
                "Not a priority the hub uses",
                field="priority",
                allowed=sorted(codes.URGENCY_FOR_PRIORITY),
            )
        urgency = codes.URGENCY_FOR_PRIORITY[sr.priority]
    notes = [n.text for n in sr.note or () if n.text]
    try:
        return ReferralCreate(
            case_id=_case_id(db, request, organization_id),
            to_organization_id=recipient,
            service_type=_code([sr.code] if sr.code else None, codes.SERVICE_TYPE_SYSTEM, "code")[
                0
            ],
            purpose=_code(sr.reasonCode, codes.PURPOSE_SYSTEM, "reasonCode")[0],
            urgency=urgency,
            categories=_code(sr.orderDetail, codes.DATA_CATEGORY_SYSTEM, "orderDetail"),
            note="\n\n".join(notes) or None,
        )
    except ValidationError as exc:
        where = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise Unprocessable(
            "validation_error", "The request is not valid", "At fault: " + ", ".join(where)
        ) from None


def create(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    actor: str,
    organization_id: str,
    request: Request,
) -> tuple[Referral | None, Decision]:
    """`sending.create`, for the referral the FHIR request describes."""
    return sending.create(
        db=db,
        keyring=keyring,
        policy=policy,
        actor=actor,
        organization_id=organization_id,
        data=to_create(db, request, organization_id),
    )


def denied(decision: Decision) -> Problem:
    """The gate's refusal, as `/v1` says it (the reasons are codes and ids)."""
    return Problem(
        422,
        "consent_denied",
        "The consent gate denied this referral",
        "Nothing was sent. The reasons say what is missing.",
        decision_id=decision.id,
        reasons=list(decision.reasons),
    )
