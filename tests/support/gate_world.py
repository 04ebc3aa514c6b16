"""A small world for consent-gate tests: an IOM office owning cases, possible recipients of
each kind, agreements and cases with chosen birth dates, each step in its own transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hub.cases import service as cases
from hub.cases.models import Case
from hub.cases.schemas import Subject
from hub.clock import utcnow
from hub.consent import gate
from hub.organizations.models import DataSharingAgreement, Organization
from hub.policy.loader import Policy
from hub.runtime import Runtime
from tests.support import factories

PURPOSE = "psychosocial_support"
ADULT_BIRTH_DATE = date(1990, 4, 2)


def birth_date_for(age: int, at: datetime, *, days_to_birthday: int = 1) -> date:
    """A birth date giving `age` whole years at `at`, the next birthday `days_to_birthday` on."""
    birthday = at.date() + timedelta(days=days_to_birthday)
    try:
        return birthday.replace(year=birthday.year - age - 1)
    except ValueError:  # 29 February
        return (birthday - timedelta(days=1)).replace(year=birthday.year - age - 1)


@dataclass
class World:
    runtime: Runtime
    owner: str
    ngo: str
    other_ngo: str
    government: str
    un: str

    @classmethod
    def make(cls, runtime: Runtime) -> World:
        tag = uuid.uuid4().hex[:8]
        with runtime.sessions.begin() as db:
            policy = runtime.policy

            def make(name: str, kind: str) -> str:
                return factories.org(db, policy, f"{name} {tag}", kind=kind).id

            return cls(
                runtime=runtime,
                owner=make("IOM Agadez", "iom_office"),
                ngo=make("Partner NGO", "ngo"),
                other_ngo=make("Second NGO", "ngo"),
                government=make("Ministry", "government"),
                un=make("UN agency", "un_agency"),
            )

    def case(
        self,
        birth_date: date = ADULT_BIRTH_DATE,
        owner: str | None = None,
        subject: Subject | None = None,
    ) -> str:
        with self.runtime.sessions.begin() as db:
            case = cases.create(
                db=db,
                keyring=self.runtime.keyring,
                policy=self.runtime.policy,
                actor="user:caseworker",
                owner_organization_id=owner or self.owner,
                external_ref=f"MRRM-{uuid.uuid4().hex[:10]}",
                subject=subject or Subject(birth_date=birth_date, sex="female"),
                data={"identity": {"given_name": "Aïcha", "family_name": "Moussa"}},
            )
            return case.id

    def agreement(
        self,
        to: str,
        *,
        purposes: Sequence[str] = (PURPOSE,),
        categories: Sequence[str] = ("identity", "contact", "psychosocial", "health"),
        from_id: str | None = None,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        revoked_at: datetime | None = None,
    ) -> str:
        with self.runtime.sessions.begin() as db:
            agreement = DataSharingAgreement(
                from_organization_id=from_id or self.owner,
                to_organization_id=to,
                purposes=list(purposes),
                categories=list(categories),
                valid_from=valid_from or utcnow() - timedelta(days=1),
                valid_until=valid_until,
                revoked_at=revoked_at,
            )
            db.add(agreement)
            db.flush()
            return agreement.id

    def decide(
        self,
        case_id: str,
        recipient: str,
        categories: Sequence[str] = ("identity", "contact"),
        *,
        purpose: str = PURPOSE,
        at: datetime | None = None,
        policy: Policy | None = None,
        context: str = "referral",
        actor: str = "user:caseworker",
        legal_basis: str = "consent",
    ) -> gate.Decision:
        with self.runtime.sessions.begin() as db:
            return gate.decide(
                db=db,
                keyring=self.runtime.keyring,
                policy=policy or self.runtime.policy,
                case=db.get_one(Case, case_id),
                recipient=db.get_one(Organization, recipient),
                purpose=purpose,
                categories=categories,
                at=at or utcnow(),
                actor=actor,
                context=context,
                legal_basis=legal_basis,
            )
