"""The FHIR facade's world: an IOM sub-office referring to a partner NGO, a third NGO looking
on, each a SMART backend service (private_key_jwt) on a live hub."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.fhir.smart import Backend, backend
from tests.support import factories
from tests.support.live_hub import Live

PURPOSE = "psychosocial_support"
AGREED = ["identity", "contact", "psychosocial", "household", "health", "legal_status"]
# the sender's API scopes (to make cases and consents) and SMART system scopes, v1 and v2
SENDER = "cases:read cases:write consents:write referrals:read system/*.cruds"
RECIPIENT = (
    "system/Task.rs system/Task.u system/ServiceRequest.read system/Patient.r "
    "system/Consent.read system/Organization.rs system/HealthcareService.rs"
)
OUTSIDER = "system/*.read system/*.write"


@dataclass
class FhirWorld:
    live: Live
    sender: Backend
    recipient: Backend
    outsider: Backend


@pytest.fixture
def fhir_world(start_live: Callable[..., Live]) -> FhirWorld:
    live = start_live()
    sender = backend(live, "IOM Agadez", SENDER, kind="iom_office")
    recipient = backend(live, "Partner NGO", RECIPIENT, services=[PURPOSE])
    outsider = backend(live, "Another NGO", OUTSIDER)
    with live.runtime.sessions.begin() as db:
        factories.agreement(
            db,
            live.runtime.policy,
            sender.organization_id,
            recipient.organization_id,
            [PURPOSE],
            AGREED,
        )
    return FhirWorld(live, sender, recipient, outsider)
