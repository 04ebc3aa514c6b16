"""The facade's code and identifier systems: the hub's vocabularies as FHIR codings.

The identifier and code systems are those of the Bundles the hub pushes to partners
(`hub.connectors.fhir_bundle`, `hub.connectors.fhir_task`), so a partner sees one set of
systems whichever way it meets the hub. HL7's value sets are checked here: fhir.resources
checks types, not codes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.connectors.fhir_bundle import (
    CASE_SYSTEM,
    CONSENT_SYSTEM,
    DATA_CATEGORY_SYSTEM,
    ORGANIZATION_SYSTEM,
    PRIORITY_FOR_URGENCY,
    PURPOSE_SYSTEM,
    REFERRAL_SYSTEM,
    SERVICE_TYPE_SYSTEM,
    TASK_CODE_SYSTEM,
)
from hub.connectors.fhir_task import TASK_STATUSES

__all__ = [
    "CASE_REFERENCE_SYSTEM",
    "CASE_SYSTEM",
    "CONSENT_SYSTEM",
    "DATA_CATEGORY_SYSTEM",
    "ORGANIZATION_SYSTEM",
    "PURPOSE_SYSTEM",
    "REFERRAL_SYSTEM",
    "SERVICE_TYPE_SYSTEM",
    "TASK_CODE_SYSTEM",
    "TASK_STATUSES",
]

# the case's own reference (`external_ref`, the owner's file number): a sender names its case
# by it on the Patient of a Bundle
CASE_REFERENCE_SYSTEM = "urn:referral-hub:case-reference"
# the hub's referral statuses (Task.businessStatus), status reasons, decline reasons, outcomes
STATUS_SYSTEM = "urn:referral-hub:referral-status"
STATUS_REASON_SYSTEM = "urn:referral-hub:status-reason"
DECLINE_REASON_SYSTEM = "urn:referral-hub:decline-reason"
OUTCOME_SYSTEM = "urn:referral-hub:outcome"
ORGANIZATION_KIND_SYSTEM = "urn:referral-hub:organization-kind"
AREA_SYSTEM = "urn:referral-hub:area"
# Task.output's type for the outcome (SDOH Clinical Care uses a code of its own likewise)
OUTPUT_TYPE_SYSTEM = "urn:referral-hub:task-output"
OUTCOME_OUTPUT = "outcome"

PRIORITIES = PRIORITY_FOR_URGENCY
URGENCY_FOR_PRIORITY = {priority: urgency for urgency, priority in PRIORITIES.items()}
# R4 RequestStatus of the ServiceRequest for each Task status
REQUEST_STATUS_FOR_TASK = {
    "on-hold": "on-hold",
    "requested": "active",
    "received": "active",
    "accepted": "active",
    "in-progress": "active",
    "rejected": "revoked",
    "cancelled": "revoked",
    "failed": "revoked",
    "completed": "completed",
}
ADMINISTRATIVE_GENDERS = frozenset({"female", "male", "other", "unknown"})


def instant(at: datetime | None) -> str | None:
    """An aware RFC 3339 time (the database may give naive UTC back)."""
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.isoformat()
