"""Here `world` is four organisations (a consent is recorded through the service, not the API),
not the referral world the other tests act in (tests/support/worlds.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from hub.cases.models import Case
from hub.consent import service as consents
from hub.consent.models import Consent
from hub.consent.schemas import ConsentCreate
from hub.runtime import Runtime
from tests.cases.conftest import new_case
from tests.support import factories
from tests.support.consents import consent_body as base_consent_body


@dataclass(frozen=True)
class World:
    owner: str  # the IOM office that owns the cases
    partner: str  # an NGO
    ministry: str  # a government body
    other: str  # another organisation with cases of its own


@pytest.fixture
def world(runtime: Runtime) -> World:
    with runtime.sessions.begin() as db:
        owner = factories.org(db, runtime.policy, "IOM Agadez", kind="iom_office")
        partner = factories.org(db, runtime.policy, "Partner NGO", kind="ngo")
        ministry = factories.org(db, runtime.policy, "Ministry", kind="government")
        other = factories.org(db, runtime.policy, "IOM Niamey", kind="iom_office")
        return World(owner.id, partner.id, ministry.id, other.id)


def consent_body(**overrides: Any) -> dict[str, Any]:
    """The consent tests' consent: for two purposes, to NGOs and IOM offices but never to a
    government body, from 2026 to 2099."""
    return base_consent_body(
        **{
            "purposes": ["psychosocial_support", "case_transfer"],
            "recipients": {"organizations": [], "kinds": ["ngo", "iom_office"]},
            "exclusions": {"organizations": [], "kinds": ["government"]},
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2099-01-01T00:00:00Z",
            **overrides,
        }
    )


@pytest.fixture
def case(runtime: Runtime, world: World) -> Case:
    return new_case(runtime, world.owner)


Record = Callable[..., Consent]


@pytest.fixture
def record(runtime: Runtime) -> Record:
    """Record a consent for a case in its own transaction (as a request would)."""

    def _record(case: Case, **overrides: Any) -> Consent:
        with runtime.sessions.begin() as db:
            return consents.record(
                db=db,
                keyring=runtime.keyring,
                policy=runtime.policy,
                actor="client:test",
                case=case,
                data=ConsentCreate.model_validate(consent_body(**overrides)),
            )

    return _record
