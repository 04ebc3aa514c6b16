"""Demo organisations and credentials, so a newcomer can try the hub at once.

Running it again finds the same organisations and gives their clients fresh secrets (a
secret is only ever stored hashed, so it cannot be shown twice).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.auth import clients
from hub.auth.models import OAuthClient
from hub.auth.tokens import PERSON_PREFIX
from hub.crypto.keyring import KeyEncryptionKeys
from hub.demo import held
from hub.organizations import service as organizations
from hub.organizations.models import Organization
from hub.organizations.schemas import AgreementCreate, OrganizationCreate
from hub.policy.loader import Policy
from hub.users import service as users
from hub.users.models import User

PARTNER_SCOPES = (
    "cases:read cases:write consents:read consents:write referrals:read referrals:write "
    "transfers:read transfers:write"
)
DEMO_CLIENT = "demo"
OFFICER = "officer@iom-agadez.demo"
CASE_WORKER = "caseworker@iom-agadez.demo"


@dataclass(frozen=True)
class DemoOrg:
    key: str
    name: str
    kind: str
    parent: str | None = None
    services: tuple[str, ...] = ()
    scope: str = PARTNER_SCOPES


ORGS = (
    DemoOrg(
        "iom_country",
        "IOM Niger (demo)",
        "iom_office",
        scope=PARTNER_SCOPES + " reviews:decide",  # never `admin`: it spans all tenants
    ),
    DemoOrg(
        "iom_sub",
        "IOM Agadez sub-office (demo)",
        "iom_office",
        parent="iom_country",
        services=("protection_assistance", "return_and_reintegration"),
    ),
    DemoOrg(
        "ngo",
        "Terre d'accueil (demo NGO)",
        "ngo",
        services=("psychosocial_support", "shelter", "gbv_response"),
    ),
    DemoOrg(
        "un",
        "UN child protection agency (demo)",
        "un_agency",
        services=("child_protection", "family_tracing"),
    ),
    DemoOrg(
        "gov",
        "Direction de la protection de l'enfant (demo)",
        "government",
        services=("child_protection", "legal_assistance"),
    ),
)
AGREEMENTS = (
    (
        "iom_sub",
        "ngo",
        ["psychosocial_support", "shelter", "gbv_response"],
        ["identity", "contact", "psychosocial", "protection_concerns", "health"],
    ),
    (
        "iom_sub",
        "un",
        ["child_protection", "family_tracing"],
        ["identity", "contact", "household", "child_protection"],
    ),
    (
        "iom_sub",
        "iom_country",
        ["case_transfer"],
        [
            "identity",
            "contact",
            "household",
            "protection_concerns",
            "health",
            "psychosocial",
            "migration_history",
            "documents",
        ],
    ),
)


@dataclass
class DemoCredentials:
    organizations: dict[str, str] = field(default_factory=dict)  # key -> organisation id
    names: dict[str, str] = field(default_factory=dict)
    clients: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (id, secret)
    users: list[tuple[str, str, str]] = field(default_factory=list)  # (email, role, password)


def seed(
    *,
    db: Session,
    policy: Policy,
    keyring: KeyEncryptionKeys | None = None,
    actor: str = "demo",
) -> DemoCredentials:
    """The demo organisations, agreements, clients and people; with the keyring, also a
    referral waiting for the demo consent officer."""
    creds = DemoCredentials()
    for spec in ORGS:
        org = db.scalar(select(Organization).where(Organization.name == spec.name))
        if org is None:
            org = organizations.create(
                db=db,
                policy=policy,
                actor=actor,
                data=OrganizationCreate(
                    name=spec.name,
                    kind=spec.kind,
                    parent_id=creds.organizations.get(spec.parent) if spec.parent else None,
                    services=list(spec.services),
                ),
            )
        creds.organizations[spec.key] = org.id
        creds.names[spec.key] = org.name
        creds.clients[spec.key] = _client(db, org.id, spec.scope, actor)
    existing = {
        (a.from_organization_id, a.to_organization_id) for a in organizations.get_agreements(db=db)
    }
    for src, dst, purposes, categories in AGREEMENTS:
        pair = (creds.organizations[src], creds.organizations[dst])
        if pair not in existing:
            organizations.create_agreement(
                db=db,
                policy=policy,
                actor=actor,
                data=AgreementCreate(
                    from_organization_id=pair[0],
                    to_organization_id=pair[1],
                    purposes=purposes,
                    categories=categories,
                ),
            )
    # both at the sub-office, so the officer's queue holds what the case worker asked for
    creds.users.append(_user(db, creds.organizations["iom_sub"], OFFICER, "consent_officer", actor))
    creds.users.append(_user(db, creds.organizations["iom_sub"], CASE_WORKER, "case_worker", actor))
    if keyring is not None:
        worker = db.scalars(select(User).where(User.email == CASE_WORKER)).one()
        held.held_referral(
            db=db,
            keyring=keyring,
            policy=policy,
            actor=f"{PERSON_PREFIX}{worker.id}@{worker.organization_id}",
            sender_id=creds.organizations["iom_sub"],
            recipient_id=creds.organizations["ngo"],
        )
    return creds


def _client(db: Session, org_id: str, scope: str, actor: str) -> tuple[str, str]:
    client = db.scalar(
        select(OAuthClient).where(
            OAuthClient.organization_id == org_id,
            OAuthClient.name == DEMO_CLIENT,
            OAuthClient.revoked_at.is_(None),
        )
    )
    if client is None:
        client, secret = clients.create_client(
            db=db, organization_id=org_id, scope=scope, name=DEMO_CLIENT, actor=actor
        )
        assert secret is not None  # a client without keys always gets a secret
        return client.client_id, secret
    return client.client_id, clients.rotate_secret(db=db, client_id=client.client_id, actor=actor)


def _user(db: Session, org_id: str, email: str, role: str, actor: str) -> tuple[str, str, str]:
    password = secrets.token_urlsafe(12)
    user = db.scalar(select(User).where(User.email == email))
    if user is None:
        users.create(
            db=db, actor=actor, organization_id=org_id, email=email, password=password, role=role
        )
    else:
        users.set_password(db=db, actor=actor, user=user, password=password)
    return email, role, password
