"""Consent: what a disclosure relied on, narrowed to it.

A recipient reads a consent that a referral it received rests on (`Referral.consent_ids`; the
newest such referral), cut to that referral: its purpose, the categories it disclosed, the
recipient alone. A consent's full scope (other purposes, other categories, other recipients,
its exclusions) would tell the recipient more about the person than the disclosure did. The
case's owner reads its own consent whole. Anyone else: 404. No free text (caregiver, witness
names) is shown: codes, dates and ids only.
"""

from __future__ import annotations

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.consent import Consent, ConsentProvision, ConsentProvisionActor
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.reference import Reference
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from hub.api.problems import NotFound
from hub.cases.models import Case
from hub.consent.answers import any_withdrawn
from hub.consent.models import Consent as ConsentRow
from hub.db.json_arrays import json_array_has
from hub.fhir import codes
from hub.referrals import service
from hub.referrals.models import Referral

CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC_SYSTEM = "http://loinc.org"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


def _concept(system: str, code: str, display: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code, display=display)])


def _relied_on(
    consent_id: str, organization_id: str, case_id: ColumnElement[str] | str
) -> Select[tuple[Referral]]:
    """The referrals the organisation received that rest on the consent, newest first (the
    recipient check on `consent_ids`, a JSON array, in SQL: `hub.db.json_arrays`)."""
    return (
        select(Referral)
        .where(
            Referral.case_id == case_id,
            service.received_by(organization_id),
            json_array_has(Referral.consent_ids, consent_id),
        )
        .order_by(Referral.sent_at.desc(), Referral.id.desc())
    )


def read(*, db: Session, consent_id: str, organization_id: str) -> Consent:
    """The consent as the organisation may see it: the tenant condition (the case's owner, or
    the recipient of a referral resting on it) is in the query; anyone else: 404."""
    found = db.execute(
        select(ConsentRow, Case.owner_organization_id)
        .join(Case, Case.id == ConsentRow.case_id)
        .where(
            ConsentRow.id == consent_id,
            or_(
                Case.owner_organization_id == organization_id,
                _relied_on(consent_id, organization_id, ConsentRow.case_id).exists(),
            ),
        )
    ).first()
    if found is None:
        raise NotFound("consent")
    row, owner = found
    if owner == organization_id:
        purposes, categories, recipients = list(row.purposes), list(row.categories), None
    else:
        referral = db.scalars(_relied_on(consent_id, organization_id, row.case_id).limit(1)).first()
        if referral is None:  # gone between the two reads
            raise NotFound("consent")
        purposes = [p for p in row.purposes if p == referral.purpose]
        categories = [c for c in row.categories if c in set(referral.categories)]
        recipients = [referral.to_organization_id]
    withdrawn = any_withdrawn(db, [row.id])
    return Consent(
        id=row.id,
        identifier=[Identifier(system=codes.CONSENT_SYSTEM, value=row.id)],
        status="inactive" if withdrawn else "active",
        scope=_concept(CONSENT_SCOPE_SYSTEM, "patient-privacy"),
        category=[_concept(LOINC_SYSTEM, "59284-0", "Patient Consent")],
        patient=Reference(reference=f"Patient/{row.case_id}"),
        dateTime=codes.instant(row.given_at),
        organization=[Reference(reference=f"Organization/{owner}")],
        policyRule=_concept(ACT_CODE_SYSTEM, "OPTIN"),
        provision=ConsentProvision(
            type="permit",
            period=Period(start=codes.instant(row.valid_from), end=codes.instant(row.valid_until)),
            actor=[
                ConsentProvisionActor(
                    role=_concept(PARTICIPATION_TYPE_SYSTEM, "IRCP", "information recipient"),
                    reference=Reference(reference=f"Organization/{org}"),
                )
                for org in recipients
            ]
            if recipients
            else None,
            purpose=[Coding(system=codes.PURPOSE_SYSTEM, code=p) for p in purposes] or None,
            class_fhir=[Coding(system=codes.DATA_CATEGORY_SYSTEM, code=c) for c in categories]
            or None,
        ),
    )
