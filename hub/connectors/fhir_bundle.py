"""The FHIR R4 shape of a delivery: the transaction Bundle pushed to a partner's server (the
Task it creates is read and written back by `hub.connectors.fhir_task`).

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

Models come from `fhir.resources.R4B`: the package's default is R5 (DESIGN.md "Known traps").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntryRequest
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.consent import Consent, ConsentProvision, ConsentProvisionActor
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.extension import Extension
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
# HL7 terminology
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC_SYSTEM = "http://loinc.org"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
# data life: the date by which the recipient must have erased what the Task carries (also the
# end of each Consent's `provision.period`, docs/connectors.md)
ERASE_BY_EXTENSION = "urn:referral-hub:extension:erase-by"

PRIORITY_FOR_URGENCY = {"normal": "routine", "high": "urgent", "emergency": "stat"}
# identity and contact become Patient fields; every other permitted category is a Task.input
PATIENT_CATEGORIES = frozenset({"identity", "contact"})
ADMINISTRATIVE_GENDERS = frozenset({"female", "male", "other", "unknown"})
_FULL_URL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:referral-hub:fhir-bundle")


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
        extension=(
            [Extension(url=ERASE_BY_EXTENSION, valueDateTime=_instant(package.erase_by))]
            if package.erase_by
            else None
        ),
    )
    entries.append(_entry(urls("task"), task, DELIVERY_SYSTEM, package.delivery_id))

    meta = None
    if audit_checkpoint is not None:
        tag = Coding(system=published.FHIR_TAG_SYSTEM, code=audit_checkpoint)
        meta = Meta(tag=[tag])
    bundle = Bundle(type="transaction", meta=meta, entry=entries)
    return bundle.model_dump(mode="json", exclude_none=True)


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
            # data life: the recipient may keep what it received under it until then
            period=Period(end=_instant(package.erase_by)) if package.erase_by else None,
        ),
    )


def _task_inputs(package: DeliveryPackage) -> list[TaskInput]:
    permitted = set(package.categories)
    return category_inputs({c: d for c, d in package.payload.items() if c in permitted})


def category_inputs(payload: Mapping[str, Any]) -> list[TaskInput]:
    """One Task.input per category of `payload` beyond identity/contact (those are the
    Patient's), typed by its code in `DATA_CATEGORY_SYSTEM`, its data as canonical JSON. The
    pushed Bundle's Task carries them so, and so does the facade's Task to its recipient."""
    return [
        TaskInput(
            type=_concept(DATA_CATEGORY_SYSTEM, category),
            valueString=json.dumps(
                payload[category],
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
            ),
        )
        for category in sorted(payload)
        if category not in PATIENT_CATEGORIES
    ]


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
