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
from hub.service_directory import service as directory
from hub.service_directory.models import Service
from hub.service_directory.schemas import ServiceCreate
from hub.users import service as users
from hub.users.models import User

PARTNER_SCOPES = (
    "cases:read cases:write consents:read consents:write referrals:read referrals:write "
    "transfers:read transfers:write services:write"
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
        # never `admin`: it spans all tenants; reports of its tree of offices
        scope=PARTNER_SCOPES + " reviews:decide reports:read",
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


# the directory's demo entries (GET /v1/services), by the organisation that offers each
AGADEZ = {"path": "NE/NE-AG/NE-AG-AGZ", "name": "Agadez"}
ARLIT = {"path": "NE/NE-AG/NE-AG-ARL", "name": "Arlit"}
SERVICES: tuple[tuple[str, dict[str, object]], ...] = (
    (
        "ngo",
        {
            "service_type": "psychosocial_support",
            "name": "Psychosocial support, Agadez centre",
            "description": "Individual counselling and group sessions; a safe space on site.",
            "areas": [AGADEZ, ARLIT],
            "location": {"latitude": 16.9742, "longitude": 7.9865},
            "focal_point": "PSS focal point (demo), psy@terre-daccueil.demo",
            "hours": "Mon-Thu 08:00-16:00, Fri 08:00-12:00",
            "eligibility": {"age_min": 12},
            "languages": ["fr", "ha", "en"],
            "capacity": "open",
            "last_verified_on": "2026-11-20",
        },
    ),
    (
        "ngo",
        {
            "service_type": "shelter",
            "name": "Transit shelter for women and children, Agadez",
            "areas": [AGADEZ],
            "focal_point": "Shelter coordinator (demo)",
            "hours": "24/7",
            "eligibility": {"sexes": ["female"]},
            "languages": ["fr", "ha"],
            "capacity": "full",
            "last_verified_on": "2026-11-25",
        },
    ),
    (
        "un",
        {
            "service_type": "family_tracing",
            "name": "Family tracing and reunification",
            "areas": [{"path": "NE", "name": "Niger"}],
            "focal_point": "FTR desk (demo)",
            "eligibility": {"age_max": 17},
            "languages": ["fr", "en", "ar"],
            "capacity": "limited",
            "last_verified_on": "2026-10-30",
        },
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
    for key, fields in SERVICES:
        org_id = creds.organizations[key]
        taken = select(Service.id).where(
            Service.organization_id == org_id, Service.name == fields["name"]
        )
        if db.scalar(taken) is None:
            directory.create(
                db=db,
                policy=policy,
                actor=actor,
                organization_id=org_id,
                data=ServiceCreate.model_validate(fields),
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
