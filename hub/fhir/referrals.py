"""A referral as FHIR: the Task that follows it and the ServiceRequest it carries out.

Neither carries personal data (ids, codes, times, as `/v1`'s summaries): the subject is
`Patient/{case id}`, read through the gate (`hub.fhir.patients`), and so are the other
categories, as `Task.input` on the recipient's read of its Task only. Task.status is the
lifecycle's own mapping (`hub.referrals.lifecycle.FHIR_TASK_STATUS`).
"""

from __future__ import annotations

from datetime import datetime

from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task, TaskInput, TaskOutput, TaskRestriction

from hub.connectors.fhir_task import WITHDRAWAL_NOTE
from hub.fhir import codes
from hub.lifecycle import reasons
from hub.referrals.lifecycle import FHIR_TASK_STATUS
from hub.referrals.models import Referral


def _concept(system: str, code: str, text: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code)], text=text)


def _meta(referral: Referral) -> Meta:
    return Meta(lastUpdated=codes.instant(referral.updated_at))


def _org(organization_id: str) -> Reference:
    return Reference(
        reference=f"Organization/{organization_id}",
        identifier=Identifier(system=codes.ORGANIZATION_SYSTEM, value=organization_id),
    )


def status_reason(referral: Referral) -> CodeableConcept | None:
    """Why it is rejected, cancelled, on hold or failed: the decline code, else the hub's
    status reason code (never the parties' words: those are personal data)."""
    if referral.decline_reason_code:
        return _concept(codes.DECLINE_REASON_SYSTEM, referral.decline_reason_code)
    if referral.status_reason:
        return _concept(codes.STATUS_REASON_SYSTEM, referral.status_reason)
    if referral.status in ("pending_review", "returned"):
        return _concept(codes.STATUS_REASON_SYSTEM, referral.status)
    return None


def business_status(referral: Referral, withdrawn_at: datetime | None) -> CodeableConcept:
    """The hub's status; and, once the recipient was told of a consent withdrawn under a
    referral the withdrawal did not cancel, `consent_withdrawn` in the status-reason system
    (as the hub writes it onto a FHIR partner's Task: `hub.delivery.fhir_updates`)."""
    coding = [Coding(system=codes.STATUS_SYSTEM, code=referral.status)]
    if withdrawn_at is None or referral.status_reason == reasons.CONSENT_WITHDRAWN:
        return CodeableConcept(coding=coding)
    coding.append(Coding(system=codes.STATUS_REASON_SYSTEM, code=reasons.CONSENT_WITHDRAWN))
    return CodeableConcept(coding=coding, text=WITHDRAWAL_NOTE.split(".", 1)[0])


def task(
    referral: Referral,
    *,
    inputs: list[TaskInput] | None = None,
    withdrawn_at: datetime | None = None,
) -> Task:
    """The referral's Task; with `inputs` (the categories the gate released to its recipient,
    `hub.fhir.patients.task_inputs`) and `withdrawn_at` (`cascade.withdrawals_told`)."""
    status = FHIR_TASK_STATUS[referral.status]
    business = business_status(referral, withdrawn_at)
    noted = withdrawn_at is not None and referral.status_reason != reasons.CONSENT_WITHDRAWN
    outputs = (
        [
            TaskOutput(
                type=_concept(codes.OUTPUT_TYPE_SYSTEM, codes.OUTCOME_OUTPUT),
                valueCodeableConcept=_concept(codes.OUTCOME_SYSTEM, referral.outcome_code),
            )
        ]
        if referral.outcome_code
        else None
    )
    return Task(
        id=referral.id,
        meta=_meta(referral),
        identifier=[Identifier(system=codes.REFERRAL_SYSTEM, value=referral.id)],
        basedOn=[Reference(reference=f"ServiceRequest/{referral.id}")],
        status=status,
        statusReason=status_reason(referral),
        businessStatus=business,
        intent="order",
        priority=codes.PRIORITIES.get(referral.urgency),
        code=_concept(codes.TASK_CODE_SYSTEM, "fulfill"),
        focus=Reference(reference=f"ServiceRequest/{referral.id}"),
        for_fhir=Reference(reference=f"Patient/{referral.case_id}"),
        authoredOn=codes.instant(referral.created_at),
        lastModified=codes.instant(referral.updated_at),
        requester=_org(referral.from_organization_id),
        owner=_org(referral.to_organization_id),
        restriction=TaskRestriction(period=Period(end=codes.instant(referral.acknowledge_by)))
        if referral.acknowledge_by is not None
        else None,
        output=outputs,
        input=inputs or None,
        note=[Annotation(time=codes.instant(withdrawn_at), text=WITHDRAWAL_NOTE)]
        if noted
        else None,
    )


def service_request(referral: Referral) -> ServiceRequest:
    task_status = FHIR_TASK_STATUS[referral.status]
    return ServiceRequest(
        id=referral.id,
        meta=_meta(referral),
        identifier=[Identifier(system=codes.REFERRAL_SYSTEM, value=referral.id)],
        status=codes.REQUEST_STATUS_FOR_TASK[task_status],
        intent="order",
        priority=codes.PRIORITIES.get(referral.urgency),
        code=_concept(codes.SERVICE_TYPE_SYSTEM, referral.service_type),
        reasonCode=[_concept(codes.PURPOSE_SYSTEM, referral.purpose)],
        orderDetail=[_concept(codes.DATA_CATEGORY_SYSTEM, c) for c in referral.categories] or None,
        subject=Reference(reference=f"Patient/{referral.case_id}"),
        authoredOn=codes.instant(referral.created_at),
        requester=_org(referral.from_organization_id),
        performer=[_org(referral.to_organization_id)],
        supportingInfo=[Reference(reference=f"Consent/{c}") for c in referral.consent_ids] or None,
    )
