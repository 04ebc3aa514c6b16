"""The FHIR R4 shape of a delivery: a transaction Bundle out, the partner's Task read back,
and the hub's own closing of the referral written onto that Task.

The Bundle holds the five resource types DESIGN.md names (Patient, Organization,
ServiceRequest, Task, Consent) and nothing of a category outside `package.categories`.
Every entry is a conditional create keyed on a hub identifier, and every `fullUrl` is derived
from the delivery id, so a retried delivery sends the same resources and a partner server that
honours `ifNoneExist` keeps one copy. The Bundle's `meta.tag` carries the hub's latest signed
audit checkpoint at the time of each attempt (`hub.audit.published`, the same value as the
`Hub-Audit-Checkpoint` header), so a copy lives in the partner's store too.

The hub is an intermediary (the SDOH Clinical Care IG's "coordination platform"): the
sender's request is the referral itself, on the hub, a ServiceRequest of `intent` `order` and a
Task, both identified by the referral id in `REFERRAL_SYSTEM`. What the Bundle creates on the
partner's server is the hub's order *towards the recipient*: a ServiceRequest of `intent`
`filler-order` (identified in `FILLER_ORDER_SYSTEM`) `basedOn` the sender's request, and the
downstream Task (identified by the delivery in `DELIVERY_SYSTEM`) `partOf` the sender's Task and
`basedOn` (and `focus`) the filler-order. The sender's two resources are referenced by
identifier, not copied into the Bundle: the partner's server does not fill the sender's order,
and the hub's FHIR facade serves them.

`Task.statusReason` is filled whenever a Task the hub writes is `rejected`, `cancelled`,
`on-hold` or `failed` (`task_update`). A partner's answer is read back with its codes
(`parse_task`): the `statusReason` codings (a decline reason) and the `Task.output` of type
`outcome` (the outcome code and its words); the delivery workflow checks them against the
policy's vocabularies, which fhir.resources does not know.

Models come from `fhir.resources.R4B`: the package's default is R5 (DESIGN.md "Known traps").
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntryRequest
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.consent import Consent, ConsentProvision, ConsentProvisionActor
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task, TaskInput, TaskRestriction
from pydantic import ValidationError

from hub.audit import published
from hub.connectors.package import ConsentRef, DeliveryPackage, OrganizationRef

# Identifier systems of the hub's own ids
# the sender's request on the hub: its ServiceRequest (`order`) and its Task
REFERRAL_SYSTEM = "urn:referral-hub:referral"
# the hub's ServiceRequest towards the recipient (`filler-order`), valued with the referral id
FILLER_ORDER_SYSTEM = "urn:referral-hub:filler-order"
DELIVERY_SYSTEM = "urn:referral-hub:delivery"
ORGANIZATION_SYSTEM = "urn:referral-hub:organization"
CONSENT_SYSTEM = "urn:referral-hub:consent"
CASE_SYSTEM = "urn:referral-hub:case"
# Code systems of the hub's vocabularies (specs/policy.yaml)
SERVICE_TYPE_SYSTEM = "urn:referral-hub:service-type"
PURPOSE_SYSTEM = "urn:referral-hub:purpose"
DATA_CATEGORY_SYSTEM = "urn:referral-hub:data-category"
# why a referral is where it is (`hub.lifecycle.reasons`: consent_withdrawn, undeliverable, ...)
STATUS_REASON_SYSTEM = "urn:referral-hub:status-reason"
# the recipient's coded answers (the policy's `decline_reasons` and `outcomes`)
DECLINE_REASON_SYSTEM = "urn:referral-hub:decline-reason"
OUTCOME_SYSTEM = "urn:referral-hub:outcome"
# Task.output.type of the outcome
TASK_OUTPUT_SYSTEM = "urn:referral-hub:task-output"
OUTCOME_OUTPUT = "outcome"
# HL7 terminology
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC_SYSTEM = "http://loinc.org"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"

PRIORITY_FOR_URGENCY = {"normal": "routine", "high": "urgent", "emergency": "stat"}
# identity and contact become Patient fields; every other permitted category is a Task.input
PATIENT_CATEGORIES = frozenset({"identity", "contact"})
ADMINISTRATIVE_GENDERS = frozenset({"female", "male", "other", "unknown"})
# R4 TaskStatus: fhir.resources checks types, not value sets, so the codes are checked here
TASK_STATUSES = frozenset(
    {
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    }
)

# the statuses whose Task carries a statusReason (the IG's rule)
REASONED_STATUSES = frozenset({"rejected", "cancelled", "on-hold", "failed"})
# a Task in one of these is over on the partner's side: the hub does not write over it
FINAL_TASK_STATUSES = frozenset(
    {"rejected", "cancelled", "failed", "completed", "entered-in-error"}
)

_FULL_URL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:referral-hub:fhir-bundle")
# FHIR's id syntax, less "." and "..": the id goes into the URL the hub reads the Task from
_FHIR_ID = re.compile(r"(?!\.{1,2}$)[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True)
class TaskState:
    """The partner's Task as far as the hub follows it."""

    status: str
    reason: str | None
    # the codes of statusReason (system `DECLINE_REASON_SYSTEM` or none), first given first
    reason_codes: tuple[str, ...] = ()
    # the outcome in Task.output: its codes (`OUTCOME_SYSTEM` or none) and its words
    outcome_codes: tuple[str, ...] = ()
    outcome_text: str | None = None


def build_bundle(
    package: DeliveryPackage, *, audit_checkpoint: str | None = None
) -> dict[str, Any]:
    """The transaction Bundle for `package`, as FHIR JSON (same package, same JSON); with
    `audit_checkpoint` (`hub.audit.published.header_value`), tagged with it in `meta.tag`."""
    try:
        priority = PRIORITY_FOR_URGENCY[package.urgency]
    except KeyError:
        raise ValueError(f"Unknown urgency: {package.urgency!r}") from None
    urls = _FullUrls(package.delivery_id)
    patient_url = urls("patient")
    sender_url = urls(f"organization/{package.sender.id}")
    recipient_url = urls(f"organization/{package.recipient.id}")
    service_request_url = urls("service-request")
    consent_urls = [urls(f"consent/{c.id}") for c in package.consents]

    entries = [
        _entry(sender_url, _organization(package.sender), ORGANIZATION_SYSTEM, package.sender.id),
        _entry(
            recipient_url,
            _organization(package.recipient),
            ORGANIZATION_SYSTEM,
            package.recipient.id,
        ),
        _entry(patient_url, _patient(package), CASE_SYSTEM, package.case_id),
    ]
    for consent, consent_url in zip(package.consents, consent_urls, strict=True):
        resource = _consent(
            consent, package, patient=patient_url, sender=sender_url, recipient=recipient_url
        )
        entries.append(_entry(consent_url, resource, CONSENT_SYSTEM, consent.id))

    # the hub's order towards the recipient, filling the sender's (the referral, on the hub)
    service_request = ServiceRequest(
        identifier=[_identifier(FILLER_ORDER_SYSTEM, package.referral_id)],
        basedOn=[_by_identifier("ServiceRequest", REFERRAL_SYSTEM, package.referral_id)],
        status="active",
        intent="filler-order",
        priority=priority,
        code=_concept(SERVICE_TYPE_SYSTEM, package.service_type),
        reasonCode=[_concept(PURPOSE_SYSTEM, package.purpose)],
        subject=_ref(patient_url),
        authoredOn=_instant(package.sent_at),
        requester=_ref(sender_url),
        performer=[_ref(recipient_url)],
        supportingInfo=[_ref(url) for url in consent_urls] or None,
        note=[Annotation(text=package.note)] if package.note else None,
    )
    entries.append(
        _entry(service_request_url, service_request, FILLER_ORDER_SYSTEM, package.referral_id)
    )

    # the downstream Task: part of the sender's Task (on the hub), based on the filler-order
    task = Task(
        identifier=[_identifier(DELIVERY_SYSTEM, package.delivery_id)],
        basedOn=[_ref(service_request_url)],
        partOf=[_by_identifier("Task", REFERRAL_SYSTEM, package.referral_id)],
        status="requested",
        intent="order",
        priority=priority,
        code=_concept(TASK_CODE_SYSTEM, "fulfill"),
        focus=_ref(service_request_url),
        for_fhir=_ref(patient_url),
        authoredOn=_instant(package.sent_at),
        requester=_ref(sender_url),
        owner=_ref(recipient_url),
        restriction=(
            TaskRestriction(period=Period(end=_instant(package.acknowledge_by)))
            if package.acknowledge_by
            else None
        ),
        input=_task_inputs(package) or None,
    )
    entries.append(_entry(urls("task"), task, DELIVERY_SYSTEM, package.delivery_id))

    meta = None
    if audit_checkpoint is not None:
        tag = Coding(system=published.FHIR_TAG_SYSTEM, code=audit_checkpoint)
        meta = Meta(tag=[tag])
    bundle = Bundle(type="transaction", meta=meta, entry=entries)
    return bundle.model_dump(mode="json", exclude_none=True)


def task_reference_from_response(response_json: dict[str, Any]) -> str | None:
    """`Task/<id>` of the Task a partner created, from its transaction-response Bundle.

    Locations may be relative (`Task/1/_history/1`) or absolute
    (`https://partner/fhir/Task/1/_history/1`). None when the response is no valid Bundle or
    names no Task.
    """
    if not isinstance(response_json, dict) or response_json.get("resourceType") != "Bundle":
        return None
    try:
        bundle = Bundle.model_validate(response_json)
    except ValidationError:
        return None
    for entry in bundle.entry or []:
        location = entry.response.location if entry.response else None
        if location and (task_id := _task_id(location)):
            return f"Task/{task_id}"
    return None


def parse_task(task_json: dict[str, Any]) -> TaskState:
    """The status (and its reason) of a partner's Task; ValueError if it is no valid R4 Task.

    The messages never quote the input: a partner's Task may carry personal data.
    """
    if not isinstance(task_json, dict) or task_json.get("resourceType") != "Task":
        raise ValueError("Not a FHIR Task")
    try:
        task = Task.model_validate(task_json)
    except ValidationError:
        raise ValueError("Invalid FHIR R4 Task") from None
    if task.status not in TASK_STATUSES:
        raise ValueError("Invalid FHIR R4 Task: unknown status")
    outcome_codes, outcome_text = _outcome(task)
    return TaskState(
        status=task.status,
        reason=_reason(task.statusReason),
        reason_codes=_codes(task.statusReason, DECLINE_REASON_SYSTEM),
        outcome_codes=outcome_codes,
        outcome_text=outcome_text,
    )


def task_update(
    task_json: dict[str, Any],
    *,
    status: str,
    reason_code: str | None,
    reason_text: str | None = None,
    at: datetime,
) -> dict[str, Any]:
    """The partner's Task (as it read it) moved to `status` by the hub, with `statusReason`
    coded in `STATUS_REASON_SYSTEM`: the document to PUT back. Everything else the partner
    wrote is kept as it was. ValueError when the input is no valid Task, the status is no R4
    code, or the status needs a reason (`REASONED_STATUSES`) and none is given."""
    parse_task(task_json)
    if status not in TASK_STATUSES:
        raise ValueError("Unknown Task status")
    if status in REASONED_STATUSES and not reason_code:
        raise ValueError("A Task in this status carries its reason")
    updated = json.loads(json.dumps(task_json))
    updated["status"] = status
    updated.pop("statusReason", None)
    if reason_code:
        updated["statusReason"] = _concept(
            STATUS_REASON_SYSTEM, reason_code, reason_text
        ).model_dump(mode="json", exclude_none=True)
        if reason_text:
            updated["statusReason"]["text"] = reason_text
    updated["lastModified"] = _instant(at)
    try:
        Task.model_validate(updated)
    except ValidationError:
        raise ValueError("Invalid FHIR R4 Task") from None
    return updated


class _FullUrls:
    """`urn:uuid:` names that depend only on the delivery and the resource's role."""

    def __init__(self, delivery_id: str) -> None:
        self._delivery_id = delivery_id

    def __call__(self, role: str) -> str:
        return f"urn:uuid:{uuid.uuid5(_FULL_URL_NAMESPACE, f'{self._delivery_id}/{role}')}"


def _entry(full_url: str, resource: Resource, system: str, value: str) -> BundleEntry:
    """A conditional create: the partner keeps the resource it already has for this id."""
    if_none_exist = urlencode({"identifier": f"{system}|{value}"}, safe=":|")
    return BundleEntry(
        fullUrl=full_url,
        resource=resource,
        request=BundleEntryRequest(
            method="POST", url=resource.get_resource_type(), ifNoneExist=if_none_exist
        ),
    )


def _organization(org: OrganizationRef) -> Organization:
    return Organization(identifier=[_identifier(ORGANIZATION_SYSTEM, org.id)], name=org.name)


def _patient(package: DeliveryPackage) -> Patient:
    """The case's subject, with the identity and contact data permitted and nothing else."""
    patient = Patient(identifier=[_identifier(CASE_SYSTEM, package.case_id)])
    permitted = set(package.categories)
    if "identity" in permitted:
        identity = package.payload.get("identity") or {}
        given, family = identity.get("given_name"), identity.get("family_name")
        if given or family:
            patient.name = [HumanName(given=[given] if given else None, family=family or None)]
        if package.subject is not None:
            patient.birthDate = package.subject.birth_date or None
            # AdministrativeGender is checked here: fhir.resources does not check value sets
            sex = package.subject.sex
            patient.gender = sex if sex in ADMINISTRATIVE_GENDERS else None
    if "contact" in permitted:
        phone = (package.payload.get("contact") or {}).get("phone")
        if phone:
            patient.telecom = [ContactPoint(system="phone", value=phone)]
    return patient


def _consent(
    consent: ConsentRef, package: DeliveryPackage, *, patient: str, sender: str, recipient: str
) -> Consent:
    """The consent a disclosure rests on, narrowed to this disclosure.

    Its scope is cut to this referral's purpose and permitted categories: a consent's full
    scope (say, `gbv_incident` or `gbv_response`) would tell the partner more about the person
    than the disclosure itself does.
    """
    permitted = set(package.categories)
    purposes = [p for p in consent.purposes if p == package.purpose]
    categories = [c for c in consent.categories if c in permitted]
    return Consent(
        identifier=[_identifier(CONSENT_SYSTEM, consent.id)],
        status="active",
        scope=_concept(CONSENT_SCOPE_SYSTEM, "patient-privacy"),
        category=[_concept(LOINC_SYSTEM, "59284-0", "Patient Consent")],
        patient=_ref(patient),
        organization=[_ref(sender)],  # the custodian: the organisation that owns the case
        dateTime=_instant(consent.recorded_at),
        # R4 invariant ppc-1 wants a policy or policyRule; fhir.resources does not check it
        policyRule=_concept(ACT_CODE_SYSTEM, "OPTIN"),
        provision=ConsentProvision(
            type="permit",
            actor=[
                ConsentProvisionActor(
                    role=_concept(PARTICIPATION_TYPE_SYSTEM, "IRCP", "information recipient"),
                    reference=_ref(recipient),
                )
            ],
            purpose=[Coding(system=PURPOSE_SYSTEM, code=p) for p in purposes] or None,
            class_fhir=[Coding(system=DATA_CATEGORY_SYSTEM, code=c) for c in categories] or None,
        ),
    )


def _task_inputs(package: DeliveryPackage) -> list[TaskInput]:
    """One input per permitted category beyond identity/contact, its data as canonical JSON."""
    return [
        TaskInput(
            type=_concept(DATA_CATEGORY_SYSTEM, category),
            valueString=json.dumps(
                package.payload[category],
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
            ),
        )
        for category in sorted(package.categories)
        if category not in PATIENT_CATEGORIES and category in package.payload
    ]


def _task_id(location: str) -> str | None:
    segments = urlsplit(location).path.strip("/").split("/")
    for i in range(len(segments) - 2, -1, -1):
        if segments[i] == "Task" and _FHIR_ID.fullmatch(segments[i + 1]):
            return segments[i + 1]
    return None


def _reason(concept: CodeableConcept | None) -> str | None:
    if concept is None:
        return None
    if concept.text:
        return concept.text
    for coding in concept.coding or []:
        if coding.display or coding.code:
            return coding.display or coding.code
    return None


def _codes(concept: CodeableConcept | None, system: str) -> tuple[str, ...]:
    """The codes of `concept` in `system` (or in no system: a partner may leave it out)."""
    if concept is None:
        return ()
    return tuple(
        c.code for c in concept.coding or [] if c.code and (c.system is None or c.system == system)
    )


def _outcome(task: Task) -> tuple[tuple[str, ...], str | None]:
    """The outcome a partner gave in `Task.output`: the output typed `outcome`
    (`TASK_OUTPUT_SYSTEM`), or any whose value is coded in `OUTCOME_SYSTEM`; its codes and
    its words (the concept's text or a string value)."""
    for output in task.output or []:
        typed = any(
            c.system == TASK_OUTPUT_SYSTEM and c.code == OUTCOME_OUTPUT
            for c in output.type.coding or []
        )
        value = output.valueCodeableConcept
        coded = value is not None and any(c.system == OUTCOME_SYSTEM for c in value.coding or [])
        if not (typed or coded):
            continue
        codes = _codes(value, OUTCOME_SYSTEM)
        text = (value.text if value is not None else None) or output.valueString
        return codes, text or None
    return (), None


def _instant(moment: datetime | None) -> str | None:
    """FHIR dateTime in UTC; a naive value (as SQLite returns) is taken to be UTC."""
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


def _identifier(system: str, value: str) -> Identifier:
    return Identifier(system=system, value=value)


def _concept(system: str, code: str, display: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code, display=display)])


def _ref(full_url: str) -> Reference:
    return Reference(reference=full_url)


def _by_identifier(kind: str, system: str, value: str) -> Reference:
    """A logical reference: the resource lives on the hub, not on the partner's server."""
    return Reference(type=kind, identifier=_identifier(system, value))
