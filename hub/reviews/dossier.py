"""What a consent officer reads beside a held request: the consent versions the gate relied
on (with their scanned forms) and the data sharing agreements in force.

Reached only through a review the officer may see (`service.get`, the access rule): the
consents are those of the review's case named by its gate decision, nothing else.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.problems import NotFound
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent import evidence
from hub.consent import service as consents
from hub.consent.models import Consent, ConsentEvidence, GateDecision
from hub.consent.schemas import ConsentRead
from hub.crypto.keyring import KeyEncryptionKeys
from hub.organizations import service as organizations
from hub.organizations.models import DataSharingAgreement
from hub.reviews.models import Review
from hub.reviews.schemas import ReviewRead


def relied_on(*, db: Session, keyring: KeyEncryptionKeys, review: ReviewRead) -> list[ConsentRead]:
    """The consent versions the review's gate decision relied on, as their owner reads them."""
    if not review.consent_ids:
        return []
    rows = list(
        db.scalars(
            select(Consent)
            .where(Consent.id.in_(review.consent_ids), Consent.case_id == review.case_id)
            .order_by(Consent.series_id, Consent.version)
        )
    )
    return consents.read(db=db, keyring=keyring, consents=rows)


def evidence_of(
    *, db: Session, keyring: KeyEncryptionKeys, actor: str, review: Review, consent_id: str
) -> tuple[ConsentEvidence, bytes]:
    """A relied-on consent's scanned form, decrypted; reading it is audited (by
    `hub.consent.evidence.get_evidence`). 404 for a consent the review does not rely on."""
    decision_consents = set(_decision_consent_ids(db, review))
    consent = db.scalar(
        select(Consent).where(Consent.id == consent_id, Consent.case_id == review.case_id)
    )
    if consent is None or consent.id not in decision_consents:
        raise NotFound("evidence")
    return evidence.get_evidence(db=db, keyring=keyring, actor=actor, consent=consent)


def agreements(*, db: Session, review: ReviewRead) -> list[DataSharingAgreement]:
    """The agreements in force now from the case's owner to the recipient."""
    case = db.get_one(Case, review.case_id)
    return organizations.agreements_in_force(
        db=db,
        from_id=case.owner_organization_id,
        to_id=review.recipient_organization_id,
        at=utcnow(),
    )


def _decision_consent_ids(db: Session, review: Review) -> list[str]:
    decision = db.get_one(GateDecision, review.decision_id)
    return list(decision.consent_ids)
