"""Every model, imported once so the metadata (and Alembic) sees the whole schema."""

from hub.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from hub.cases.models import Case, CaseData
from hub.crypto.models import DataKey
from hub.db.base import Base
from hub.organizations.models import Organization
from hub.outbox.models import OutboxMessage

__all__ = [
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Case",
    "CaseData",
    "DataKey",
    "Organization",
    "OutboxMessage",
]
