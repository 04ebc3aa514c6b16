from __future__ import annotations

from dataclasses import dataclass

import pytest

from hub.cases import service as cases
from hub.cases.models import Case
from hub.cases.schemas import Subject
from hub.runtime import Runtime
from tests.support import factories


@dataclass(frozen=True)
class Orgs:
    owner: str
    other: str


@pytest.fixture
def orgs(runtime: Runtime) -> Orgs:
    with runtime.sessions.begin() as db:
        owner = factories.org(db, runtime.policy, "IOM Agadez", kind="iom_office")
        other = factories.org(db, runtime.policy, "Partner NGO", kind="ngo")
        return Orgs(owner=owner.id, other=other.id)


def new_case(runtime: Runtime, owner: str, ref: str = "MRRM-NE-2026-0042", **data: dict) -> Case:
    with runtime.sessions.begin() as db:
        return cases.create(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor="user:caseworker",
            owner_organization_id=owner,
            external_ref=ref,
            subject=Subject.model_validate({"birth_date": "2010-03-14", "sex": "female"}),
            data=data
            or {
                "identity": {"given_name": "Aïcha", "family_name": "Moussa"},
                "contact": {"phone": "+227 90 00 00 00"},
            },
        )
