"""Small builders for test data, going through the real services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.organizations import service as organizations
from hub.organizations.models import Organization
from hub.organizations.schemas import AgreementCreate, OrganizationCreate
from hub.policy.loader import Policy


def org(
    db: Session,
    policy: Policy,
    name: str,
    kind: str = "ngo",
    parent_id: str | None = None,
    services: list[str] | None = None,
) -> Organization:
    return organizations.create(
        db=db,
        policy=policy,
        actor="test",
        data=OrganizationCreate(name=name, kind=kind, parent_id=parent_id, services=services or []),
    )


def agreement(
    db: Session,
    policy: Policy,
    from_id: str,
    to_id: str,
    purposes: list[str],
    categories: list[str],
) -> None:
    organizations.create_agreement(
        db=db,
        policy=policy,
        actor="test",
        data=AgreementCreate(
            from_organization_id=from_id,
            to_organization_id=to_id,
            purposes=purposes,
            categories=categories,
        ),
    )
