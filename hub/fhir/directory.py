"""The directory as FHIR: Organization (the partners) and HealthcareService (their services).

Read from the same services as `GET /v1/organizations` and `GET /v1/services` (the hub's
operator is no partner and is not found); searches by `name`, `type` and, for services,
`location` (an area code or path: its sub-areas match too, as `/v1/services?area=`).
"""

from __future__ import annotations

from fastapi import Request
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.reference import Reference
from sqlalchemy.orm import Session

from hub.api.problems import NotFound, Unprocessable
from hub.api.vocabulary import check as vocabulary_check
from hub.fhir import codes, search
from hub.organizations import service as organizations
from hub.organizations.models import Organization as OrganizationRow
from hub.policy.loader import Policy
from hub.service_directory import service as services
from hub.service_directory.schemas import ServiceRead

ORGANIZATION_PARAMS = ("name", "type", "_id")
SERVICE_PARAMS = ("name", "type", "location", "organization", "_id")
# the service's areas, as codes of the hub's area system (FHIR's `coverageArea` wants Locations)
AREA_EXTENSION = "urn:referral-hub:fhir:extension:service-area"


def _concept(system: str, code: str) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code)])


def organization(row: OrganizationRow) -> Organization:
    return Organization(
        id=row.id,
        identifier=[Identifier(system=codes.ORGANIZATION_SYSTEM, value=row.id)],
        active=True,
        type=[_concept(codes.ORGANIZATION_KIND_SYSTEM, row.kind)],
        name=row.name,
        partOf=Reference(reference=f"Organization/{row.parent_id}") if row.parent_id else None,
    )


def read_organization(*, db: Session, organization_id: str) -> Organization:
    row = organizations.get_partner(db=db, organization_id=organization_id)
    if row is None:
        raise NotFound("organization")
    return organization(row)


def find_organizations(*, db: Session, policy: Policy, request: Request) -> list[Organization]:
    """The directory is small and public to partners: filtered as read."""
    search.check_params(request, ORGANIZATION_PARAMS)
    params = request.query_params
    rows = organizations.get_all(db=db)
    for name in params.getlist("name"):
        rows = [r for r in rows if name.strip().lower() in r.name.lower()]
    for kind in params.getlist("type"):
        vocabulary_check(policy, "organization_kinds", kind.split("|")[-1], field="type")
        rows = [r for r in rows if r.kind == kind.split("|")[-1]]
    for ids in params.getlist("_id"):
        rows = [r for r in rows if r.id in ids.split(",")]
    return [organization(r) for r in rows[: search.count(request)]]


def healthcare_service(item: ServiceRead) -> HealthcareService:
    return HealthcareService(
        id=item.id,
        identifier=[Identifier(system="urn:referral-hub:service", value=item.id)],
        active=True,
        providedBy=Reference(reference=f"Organization/{item.organization_id}"),
        type=[_concept(codes.SERVICE_TYPE_SYSTEM, item.service_type)],
        name=item.name,
        comment=item.description,
        extension=[
            Extension(
                url=AREA_EXTENSION,
                valueCoding=Coding(system=codes.AREA_SYSTEM, code=a.path, display=a.name),
            )
            for a in item.areas
        ]
        or None,
        communication=[_concept("urn:ietf:bcp:47", lang) for lang in item.languages] or None,
        appointmentRequired=None,
        availabilityExceptions=item.hours,
    )


def read_service(*, db: Session, service_id: str) -> HealthcareService:
    return healthcare_service(
        services.read(db=db, service=services.get(db=db, service_id=service_id))
    )


def find_services(
    *, db: Session, policy: Policy, request: Request
) -> tuple[list[HealthcareService], str | None]:
    search.check_params(request, SERVICE_PARAMS)
    params = request.query_params
    wanted = services.ServiceFilter(
        service_type=_one(params.getlist("type"), "type"),
        area=_one(params.getlist("location"), "location"),
        name=_one(params.getlist("name"), "name"),
        organization_id=(
            search.reference_id(org, "Organization", "organization")
            if (org := _one(params.getlist("organization"), "organization"))
            else None
        ),
    )
    items, cursor_next = services.find(
        db=db,
        policy=policy,
        wanted=wanted,
        cursor=search.raw_cursor(request),
        limit=search.count(request),
    )
    ids = params.get("_id")
    if ids:
        items = [i for i in items if i.id in ids.split(",")]
    return [healthcare_service(i) for i in items], cursor_next


def _one(values: list[str], field: str) -> str | None:
    """A search parameter given at most once (a token's `system|` is dropped)."""
    if len(values) > 1:
        raise Unprocessable("repeated_parameter", "Give this parameter once", field=field)
    return values[0].split("|")[-1] if values else None
