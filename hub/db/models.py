"""Every model, imported once so the metadata (and Alembic) sees the whole schema."""

from hub.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from hub.auth.models import OAuthClient, RevokedToken, SigningKey, UsedAssertion
from hub.cases.models import Case, CaseData
from hub.crypto.models import DataKey
from hub.db.base import Base
from hub.organizations.models import DataSharingAgreement, Organization
from hub.outbox.models import OutboxMessage
from hub.users.models import User

__all__ = [
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Case",
    "CaseData",
    "DataKey",
    "DataSharingAgreement",
    "OAuthClient",
    "Organization",
    "OutboxMessage",
    "RevokedToken",
    "SigningKey",
    "UsedAssertion",
    "User",
]
