"""Naming the actors of the audit log and the reviews for the people who read them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from hub.auth.tokens import person_of
from hub.organizations.models import Organization
from hub.users.models import User


@dataclass(frozen=True)
class ActorName:
    """`email` for a person (and `via` the client that carried their request), else `client`."""

    email: str | None
    organization: str | None
    client: str | None


def describe(*, db: Session, actor: str | None) -> ActorName:
    actor = actor or ""
    client = actor.rsplit("client:", 1)[1] if "client:" in actor else None
    user_id = person_of(actor)
    user = db.get(User, user_id) if user_id else None
    organization = db.get(Organization, user.organization_id) if user else None
    return ActorName(
        email=user.email if user else None,
        organization=organization.name if organization else None,
        client=client,
    )
