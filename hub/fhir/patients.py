"""The case's data as its recipient may see it, released by the consent gate: the Patient
(identity and contact) and the other permitted categories as the recipient's Task's `input`.

`Patient/{case id}` is read through the newest open referral of that case the caller received
(none: 404, the same answer as another organisation's case). The gate is asked as for a `/v1`
read of the referral's payload (`hub.referrals.reading.evaluate`), and only the permitted
`identity` (name, and the subject's birth date and sex) and `contact` (phone) are shown; each
read that shows them is a disclosure (channel `fhir`) in the accounting, like a `/v1` read. A
gate that says no answers 403 with its code, and what the gate did then (a withdrawal found
cancels a referral not yet acknowledged) is kept, as in `/v1`.

The other categories (psychosocial, health, household, legal_status...) go where the pushed
Bundle puts them (`hub.connectors.fhir_bundle.category_inputs`): one `Task.input` each, typed
by the category's code, its data as canonical JSON. They come with the recipient's read of the
Task (`GET Task/{id}`, never a search nor the sender's read), released by the same
`reading.evaluate` and accounted by the same `reading.account` (channel `fhir`, those
categories); when the gate does not release them the Task comes without them.
"""

from __future__ import annotations

from dataclasses import replace

from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.task import TaskInput
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.problems import NotFound, Problem
from hub.cases import service as cases
from hub.cases.models import Case
from hub.connectors.fhir_bundle import PATIENT_CATEGORIES, category_inputs
from hub.crypto.keyring import KeyEncryptionKeys
from hub.disclosures.service import CHANNELS
from hub.fhir import codes
from hub.policy.loader import Policy
from hub.referrals import reading, service
from hub.referrals.models import Referral

CHANNEL = "fhir"
assert CHANNEL in CHANNELS


def through(*, db: Session, case_id: str, organization_id: str) -> Referral:
    """The newest open referral of the case received by the organisation (404 otherwise: the
    tenant condition is the referrals' own, in the query)."""
    referral = db.scalar(
        select(Referral)
        .where(
            Referral.case_id == case_id,
            service.received_by(organization_id),
            Referral.status.in_(sorted(reading.OPEN)),
        )
        .order_by(Referral.sent_at.desc(), Referral.id.desc())
        .limit(1)
        .with_for_update()
    )
    if referral is None:
        raise NotFound("patient")
    return referral


def read(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    actor: str,
) -> Patient | Problem:
    """The Patient the gate releases now, accounted for; or the problem saying why not."""
    released = reading.evaluate(
        db=db, keyring=keyring, policy=policy, referral=referral, actor=actor
    )
    if released.payload is None:
        code = (released.withheld or [{"code": "consent_denied"}])[0]["code"]
        return Problem(403, str(code), "The consent gate does not release this Patient now")
    shown = {c: released.payload[c] for c in PATIENT_CATEGORIES if c in released.payload}
    patient = Patient(
        id=referral.case_id,
        meta=Meta(lastUpdated=codes.instant(referral.updated_at)),
        identifier=[Identifier(system=codes.CASE_SYSTEM, value=referral.case_id)],
    )
    if "identity" in shown:
        identity = shown["identity"]
        given, family = identity.get("given_name"), identity.get("family_name")
        if given or family:
            patient.name = [HumanName(given=[str(given)] if given else None, family=family or None)]
        subject = cases.read_subject(
            db=db, keyring=keyring, case=db.get_one(Case, referral.case_id)
        )
        patient.birthDate = subject.birth_date
        patient.gender = subject.sex if subject.sex in codes.ADMINISTRATIVE_GENDERS else None
    if "contact" in shown:
        phone = shown["contact"].get("phone")
        if phone:
            patient.telecom = [ContactPoint(system="phone", value=str(phone))]
    # what left is what the Patient shows: those categories, not the sender's note
    reading.account(
        db=db,
        referral=referral,
        released=replace(released, payload=shown, note=None, override_reason=None),
        actor=actor,
        channel=CHANNEL,
    )
    return patient


def task_inputs(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    actor: str,
) -> list[TaskInput]:
    """The categories beyond the Patient's that the gate releases now to the referral's
    recipient, as Task inputs, accounted for; none when it releases nothing."""
    released = reading.evaluate(
        db=db, keyring=keyring, policy=policy, referral=referral, actor=actor
    )
    if released.payload is None:
        return []
    shown = {c: d for c, d in released.payload.items() if c not in PATIENT_CATEGORIES}
    inputs = category_inputs(shown)
    reading.account(
        db=db,
        referral=referral,
        released=replace(released, payload=shown, note=None, override_reason=None),
        actor=actor,
        channel=CHANNEL,
    )
    return inputs
