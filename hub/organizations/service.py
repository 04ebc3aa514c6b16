"""Organisations, their hierarchy, and data sharing agreements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, bindparam, inspect, literal, or_, select
from sqlalchemy.orm import Session, aliased, make_transient_to_detached

from hub.api import vocabulary
from hub.api.problems import Conflict, NotFound, Unprocessable
from hub.audit.service import record
from hub.clock import utcnow
from hub.db.lookups import Lookups
from hub.organizations.models import DataSharingAgreement, Organization
from hub.organizations.schemas import AgreementCreate, OrganizationCreate
from hub.policy.loader import OPERATOR_KIND, Policy

IOM_OFFICE = "iom_office"
# a hierarchy deeper than this is a data error, not a real office structure
MAX_DEPTH = 16

# organisations are never changed once made: a copy of each, detached, put in a request's
# session without reading it again (`known`)
_known: Lookups[str, Organization] = Lookups()


def get(*, db: Session, organization_id: str) -> Organization | None:
    return db.get(Organization, organization_id)


def known(*, db: Session, organization_id: str) -> Organization | None:
    """`get`, from the lookup cache when this process has read the organisation lately."""
    found = db.identity_map.get(
        inspect(Organization).identity_key_from_primary_key((organization_id,))
    )
    if found is not None:
        return found  # type: ignore[no-any-return]
    copy = _known.get(
        organization_id, lambda: _detached_copy(get(db=db, organization_id=organization_id))
    )
    return None if copy is None else db.merge(copy, load=False)


def _detached_copy(org: Organization | None) -> Organization | None:
    if org is None:
        return None
    copy = Organization(**{c.key: getattr(org, c.key) for c in inspect(Organization).column_attrs})
    make_transient_to_detached(copy)
    return copy


def get_or_raise(*, db: Session, organization_id: str) -> Organization:
    org = get(db=db, organization_id=organization_id)
    if org is None:
        raise NotFound("organization")
    return org


def check_recipient(*, db: Session, recipient_id: str, sender_id: str, what: str) -> Organization:
    """The recipient; 422 unless `recipient_id` is another existing organisation (`what`:
    "refer a case", "transfer a case", for the message). Kept by the caller: the session holds
    what nobody references only weakly, and would read it again."""
    if recipient_id == sender_id:
        raise Unprocessable(
            "invalid_recipient",
            f"An organisation cannot {what} to itself",
            field="to_organization_id",
        )
    recipient = known(db=db, organization_id=recipient_id)
    if recipient is None or recipient.kind == OPERATOR_KIND:
        # the directory is public (GET /v1/organizations): an unknown id is a bad value, and
        # the hub's operator is not in it
        raise Unprocessable(
            "unknown_value",
            "Unknown organisation",
            vocabulary="organizations",
            field="to_organization_id",
        )
    return recipient


def get_all(*, db: Session, with_operator: bool = False) -> list[Organization]:
    """The organisations by name; the hub's operator only when asked for (it is not a partner,
    so the directory partners read leaves it out)."""
    query = select(Organization).order_by(Organization.name)
    if not with_operator:
        query = query.where(Organization.kind != OPERATOR_KIND)
    return list(db.scalars(query))


def get_partner(*, db: Session, organization_id: str) -> Organization | None:
    """An organisation of the directory: any but the hub's operator."""
    org = get(db=db, organization_id=organization_id)
    return org if org is not None and org.kind != OPERATOR_KIND else None


def create_operator(*, db: Session, actor: str, name: str) -> Organization:
    """The hub's operator: the organisation whose clients and people hold `admin`. It takes
    no part in the flow of personal data: no cases, no agreements, never a recipient. Its kind
    is reserved, outside the policy's vocabulary, so `create` never makes one."""
    return _insert(db=db, actor=actor, data=OrganizationCreate(name=name, kind=OPERATOR_KIND))


def create(*, db: Session, policy: Policy, actor: str, data: OrganizationCreate) -> Organization:
    vocabulary.check(policy, "organization_kinds", data.kind, field="kind")
    vocabulary.check(policy, "service_types", data.services, field="services")
    return _insert(db=db, actor=actor, data=data)


def _insert(*, db: Session, actor: str, data: OrganizationCreate) -> Organization:
    if data.parent_id is not None:
        parent = get_or_raise(db=db, organization_id=data.parent_id)
        if data.kind != IOM_OFFICE or parent.kind != IOM_OFFICE:
            raise Unprocessable(
                "invalid_parent", "Only IOM offices form a hierarchy, under another IOM office"
            )
    if db.scalar(select(Organization.id).where(Organization.name == data.name)):
        raise Conflict("name_taken", "An organisation with this name exists")
    org = Organization(
        name=data.name,
        kind=data.kind,
        parent_id=data.parent_id,
        services=sorted(set(data.services)),
        country=data.country,
    )
    db.add(org)
    # flushed for the generated id the audit entry refers to
    db.flush()
    record(
        db,
        actor=actor,
        action="organization.created",
        object_type="organization",
        object_id=org.id,
        details={"kind": org.kind, "parent_id": org.parent_id},
    )
    return org


def ancestors(*, db: Session, organization_id: str) -> list[str]:
    """The offices above this one, nearest first."""
    chain: list[str] = []
    current = get(db=db, organization_id=organization_id)
    while current is not None and current.parent_id and len(chain) < MAX_DEPTH:
        chain.append(current.parent_id)
        current = get(db=db, organization_id=current.parent_id)
    return chain


def below(organization_id: str) -> Select[tuple[str]]:
    """The ids of the offices below this one, at any depth (not the office itself), as a
    subquery for `IN`: a recursive query, so the tenant condition stays in the SQL."""
    tree = (
        select(Organization.id, literal(1).label("depth"))
        .where(Organization.parent_id == organization_id)
        .cte("offices_below", recursive=True)
    )
    child = aliased(Organization)
    tree = tree.union_all(
        select(child.id, tree.c.depth + 1).where(
            child.parent_id == tree.c.id, tree.c.depth < MAX_DEPTH
        )
    )
    return select(tree.c.id)


def same_hierarchy(*, db: Session, a: str, b: str) -> bool:
    """True when both are IOM offices under the same top office (one data controller)."""
    orgs = {o.id: o for o in db.scalars(select(Organization).where(Organization.id.in_([a, b])))}
    if len(orgs) != 2 or any(o.kind != IOM_OFFICE for o in orgs.values()):
        return False
    top_a = ([a, *ancestors(db=db, organization_id=a)])[-1]
    top_b = ([b, *ancestors(db=db, organization_id=b)])[-1]
    return top_a == top_b


def create_agreement(
    *, db: Session, policy: Policy, actor: str, data: AgreementCreate
) -> DataSharingAgreement:
    vocabulary.check(policy, "purposes", data.purposes, field="purposes")
    vocabulary.check(policy, "data_categories", data.categories, field="categories")
    if data.from_organization_id == data.to_organization_id:
        raise Unprocessable("invalid_agreement", "An agreement is between two organisations")
    for org_id in (data.from_organization_id, data.to_organization_id):
        if get_or_raise(db=db, organization_id=org_id).kind == OPERATOR_KIND:
            raise Unprocessable(
                "invalid_agreement", "The hub's operator is not party to data sharing"
            )
    agreement = DataSharingAgreement(
        from_organization_id=data.from_organization_id,
        to_organization_id=data.to_organization_id,
        purposes=sorted(set(data.purposes)),
        categories=sorted(set(data.categories)),
        valid_from=data.valid_from or utcnow(),
        valid_until=data.valid_until,
    )
    db.add(agreement)
    # flushed for the generated id the audit entry refers to
    db.flush()
    record(
        db,
        actor=actor,
        action="agreement.created",
        object_type="agreement",
        object_id=agreement.id,
        details={
            "from": agreement.from_organization_id,
            "to": agreement.to_organization_id,
            "purposes": agreement.purposes,
            "categories": agreement.categories,
        },
    )
    return agreement


def get_agreement_or_raise(*, db: Session, agreement_id: str) -> DataSharingAgreement:
    agreement = db.get(DataSharingAgreement, agreement_id)
    if agreement is None:
        raise NotFound("agreement")
    return agreement


def revoke_agreement(
    *, db: Session, actor: str, agreement: DataSharingAgreement, reason: str | None = None
) -> DataSharingAgreement:
    """End the agreement now: the gate reads agreements in force at each decision (nothing
    caches them), so the next referral between the two organisations is refused or held at
    once. 409 `agreement_revoked` when it was revoked already (its first revocation stands)."""
    if agreement.revoked_at is not None:
        raise Conflict(
            "agreement_revoked",
            "The agreement is revoked already",
            revoked_at=agreement.revoked_at.isoformat(),
        )
    agreement.revoked_at = utcnow()
    record(
        db,
        actor=actor,
        action="agreement.revoked",
        object_type="agreement",
        object_id=agreement.id,
        details={
            "from": agreement.from_organization_id,
            "to": agreement.to_organization_id,
            "reason": reason,
        },
    )
    return agreement


def get_agreements(
    *, db: Session, organization_id: str | None = None
) -> list[DataSharingAgreement]:
    query = select(DataSharingAgreement).order_by(DataSharingAgreement.created_at)
    if organization_id is not None:
        query = query.where(
            or_(
                DataSharingAgreement.from_organization_id == organization_id,
                DataSharingAgreement.to_organization_id == organization_id,
            )
        )
    return list(db.scalars(query))


# what "in force" means, for `agreements_in_force` and the consent gate's read (which joins
# agreements on it, to read their terms in the same round trip as the consents): between these
# parties, not revoked, and valid at the instant. Built once, the parties and the instant bound:
# this runs on every gate decision, and building it cost as much CPU as running it
IN_FORCE_WHERE = (
    DataSharingAgreement.from_organization_id == bindparam("from_id"),
    DataSharingAgreement.to_organization_id == bindparam("to_id"),
    DataSharingAgreement.revoked_at.is_(None),
    DataSharingAgreement.valid_from <= bindparam("at"),
    or_(
        DataSharingAgreement.valid_until.is_(None),
        DataSharingAgreement.valid_until > bindparam("at"),
    ),
)
_IN_FORCE = select(DataSharingAgreement).where(*IN_FORCE_WHERE)


def agreements_in_force(
    *, db: Session, from_id: str, to_id: str, at: datetime
) -> list[DataSharingAgreement]:
    """Agreements letting data flow from one organisation to another at that instant."""
    return list(db.scalars(_IN_FORCE, {"from_id": from_id, "to_id": to_id, "at": at}))
