"""Every model, imported once so the metadata (and Alembic) sees the whole schema.

It sits at the top of the package, beside the app and the runtime, because it names every
domain: `hub.db` itself (engines, sessions, the declarative base) knows none of them.
"""

from hub.api.models import IdempotencyRecord
from hub.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from hub.auth.models import OAuthClient, RevokedToken, SigningKey, UsedAssertion
from hub.cases.models import Case, CaseData
from hub.connectors.models import DeliveryChannel
from hub.consent.models import Consent, ConsentEvidence, ConsentWithdrawal, GateDecision
from hub.crypto.models import DataKey, ShreddedKey
from hub.db.base import Base
from hub.delivery.models import Delivery
from hub.disclosures.models import Disclosure
from hub.fhir.models import SenderIdentifier
from hub.legal_bases.models import PersonNotice
from hub.lifecycle.models import LifecycleEvent
from hub.notifications.models import Notification
from hub.organizations.models import DataSharingAgreement, Organization
from hub.outbox.models import OutboxMessage
from hub.referrals.models import Referral, WithdrawalNotice
from hub.reviews.models import Review
from hub.service_directory.models import Service, ServiceArea, ServiceCoverage
from hub.transfers.models import Transfer
from hub.transfers.requests.models import TransferRequest
from hub.users.models import RecoveryCode, User, UserSession

__all__ = [
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Case",
    "CaseData",
    "Consent",
    "ConsentEvidence",
    "ConsentWithdrawal",
    "DataKey",
    "DataSharingAgreement",
    "Delivery",
    "DeliveryChannel",
    "Disclosure",
    "GateDecision",
    "IdempotencyRecord",
    "LifecycleEvent",
    "Notification",
    "OAuthClient",
    "Organization",
    "OutboxMessage",
    "PersonNotice",
    "RecoveryCode",
    "Referral",
    "Review",
    "RevokedToken",
    "SenderIdentifier",
    "Service",
    "ServiceArea",
    "ServiceCoverage",
    "ShreddedKey",
    "SigningKey",
    "Transfer",
    "TransferRequest",
    "UsedAssertion",
    "User",
    "UserSession",
    "WithdrawalNotice",
]
