"""The service directory: create, read, search, update and delete an organisation's services,
and the eligibility rule a referral to a service meets (`check_referral`).

Who may edit is decided here, in the query: the hub's administrators edit any organisation's
services, a partner only its own (another organisation's service is 404, so its existence
says nothing more than the public directory does). Routes, the CLI's import and the demo call
these same functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session

from hub.api import pagination, vocabulary
from hub.api.problems import NotFound, Problem, Unprocessable
from hub.audit.service import record
from hub.organizations.models import Organization
from hub.policy.loader import OPERATOR_KIND, Policy
from hub.service_directory.models import Service, ServiceArea, ServiceCoverage
from hub.service_directory.schemas import (
    Area,
    AreaRead,
    Eligibility,
    Location,
    ServiceCreate,
    ServiceRead,
    ServiceUpdate,
)


def _key(values: Iterable[str]) -> str:
    """` fr ha `: each value between spaces, so `LIKE '% fr %'` finds one exactly."""
    return " " + "".join(f"{v.lower()} " for v in values)


def _area_rows(areas: Iterable[Area]) -> list[ServiceArea]:
    rows: dict[str, ServiceArea] = {}
    for area in areas:
        path = area.path.strip("/") + "/"
        rows[path] = ServiceArea(
            path=path, code=path.rstrip("/").rsplit("/", 1)[-1], name=area.name
        )
    return list(rows.values())


def _partner(db: Session, organization_id: str) -> Organization:
    org = db.get(Organization, organization_id)
    if org is None or org.kind == OPERATOR_KIND:
        raise NotFound("organization")
    return org


def _offered(org: Organization, service_type: str) -> None:
    """The organisation's own list of service types (GET /v1/organizations) gains the type."""
    if service_type not in (org.services or []):
        org.services = sorted({*(org.services or []), service_type})


def create(
    *,
    db: Session,
    policy: Policy,
    actor: str,
    organization_id: str,
    data: ServiceCreate,
    service_id: str | None = None,
) -> Service:
    """A new service of `organization_id` (the caller has checked it may write for it)."""
    vocabulary.check(policy, "service_types", data.service_type, field="service_type")
    org = _partner(db, organization_id)
    service = Service(organization_id=org.id, service_type=data.service_type, name=data.name)
    if service_id is not None:
        service.id = service_id
    _assign(service, data, data.model_fields_set | {"eligibility", "languages", "areas"})
    db.add(service)
    _offered(org, service.service_type)
    db.flush()
    record(
        db,
        actor=actor,
        action="service.created",
        object_type="service",
        object_id=service.id,
        details={"organization_id": org.id, "service_type": service.service_type},
    )
    return service


def _assign(service: Service, data: ServiceCreate | ServiceUpdate, fields: set[str]) -> None:
    for name in ("description", "focal_point", "hours", "last_verified_on"):
        if name in fields:
            setattr(service, name, getattr(data, name))
    for name in ("service_type", "name", "capacity"):
        if name in fields and getattr(data, name) is not None:
            setattr(service, name, getattr(data, name))
    if "location" in fields:
        location = data.location
        service.latitude = location.latitude if location else None
        service.longitude = location.longitude if location else None
    if "eligibility" in fields and data.eligibility is not None:
        rules = data.eligibility
        service.age_min, service.age_max = rules.age_min, rules.age_max
        service.sexes = sorted(set(rules.sexes))
        service.sexes_key = _key(service.sexes)
        service.legal_statuses = list(rules.legal_statuses)
    if "languages" in fields and data.languages is not None:
        service.languages = list(data.languages)
        service.languages_key = _key(service.languages)
    if "areas" in fields and data.areas is not None:
        service.areas = _area_rows(data.areas)


def get(*, db: Session, service_id: str) -> Service:
    """Any service of the directory (it is public to every partner); 404 when there is none."""
    service = db.get(Service, service_id)
    if service is None:
        raise NotFound("service")
    return service


def get_to_edit(*, db: Session, service_id: str, organization_id: str | None) -> Service:
    """The service if the caller may edit it: `organization_id` None for the hub's
    administrators (any service), otherwise the caller's organisation must own it (404)."""
    query = select(Service).where(Service.id == service_id)
    if organization_id is not None:
        query = query.where(Service.organization_id == organization_id)
    service = db.scalar(query)
    if service is None:
        raise NotFound("service")
    return service


def update(
    *, db: Session, policy: Policy, actor: str, service: Service, data: ServiceUpdate
) -> Service:
    fields = set(data.model_fields_set)
    for required in ("service_type", "name", "capacity"):
        if required in fields and getattr(data, required) is None:
            raise Unprocessable("validation_error", f"{required} cannot be null", field=required)
    if data.service_type is not None:
        vocabulary.check(policy, "service_types", data.service_type, field="service_type")
    _assign(service, data, fields)
    if data.service_type is not None:
        _offered(db.get_one(Organization, service.organization_id), data.service_type)
    db.flush()
    record(
        db,
        actor=actor,
        action="service.updated",
        object_type="service",
        object_id=service.id,
        details={"organization_id": service.organization_id, "fields": sorted(fields)},
    )
    return service


def delete(*, db: Session, actor: str, service: Service) -> None:
    record(
        db,
        actor=actor,
        action="service.deleted",
        object_type="service",
        object_id=service.id,
        details={"organization_id": service.organization_id},
    )
    db.delete(service)
    db.flush()


@dataclass(frozen=True)
class ServiceFilter:
    service_type: str | None = None
    area: str | None = None
    age: int | None = None
    sex: str | None = None
    language: str | None = None
    organization_id: str | None = None
    capacity: str | None = None
    # a part of the service's name, any case (the FHIR facade's `name` search)
    name: str | None = None


def area_prefix(*, db: Session, area: str) -> str | None:
    """The stored path prefix of an area, given as a path (`NE/NE-AG`) or a code (`NE-AG`).

    A code is found where it ends an area's path (indexed on the code), else inside one (an
    area no service names itself, only its sub-areas); None when no service is offered there."""
    if "/" in area:
        return area.strip("/") + "/"
    path = db.scalar(select(ServiceArea.path).where(ServiceArea.code == area).limit(1))
    if path is not None:
        return str(path)
    inside = db.scalar(
        select(ServiceArea.path)
        .where(
            or_(
                ServiceArea.path.startswith(area + "/", autoescape=True),
                ServiceArea.path.contains("/" + area + "/", autoescape=True),
            )
        )
        .limit(1)
    )
    if inside is None:
        return None
    segments = str(inside).split("/")
    if area not in segments:
        # SQLite's LIKE ignores case: another case of the code is another area
        return None
    return "/".join(segments[: segments.index(area) + 1]) + "/"


def find(
    *,
    db: Session,
    policy: Policy,
    wanted: ServiceFilter,
    cursor: str | None,
    limit: int,
) -> tuple[list[ServiceRead], str | None]:
    """The directory's services matching every filter given, newest first, a page at a time.

    With an area, the walk is the area's rows of `service_coverage` newest first (of the type
    when one is given: `ix_service_coverage_type`), each service met once and tested against
    the other filters; without one, `services` newest first (`ix_services_type_created`,
    `ix_services_created`). The cursor is a bound of that index (a row comparison), so a later
    page starts where the previous one ended instead of walking past it again."""
    if wanted.service_type is not None:
        vocabulary.check(policy, "service_types", wanted.service_type, field="type")
    query = select(Service, Organization.name)
    newest: tuple[Any, Any] = (Service.created_at, Service.id)
    if wanted.area is not None:
        prefix = area_prefix(db=db, area=wanted.area)
        if prefix is None:
            return [], None
        query = (
            query.select_from(ServiceCoverage)
            .join(Service, Service.id == ServiceCoverage.service_id)
            .where(ServiceCoverage.path == prefix)
        )
        if wanted.service_type is not None:
            query = query.where(ServiceCoverage.service_type == wanted.service_type)
        newest = (ServiceCoverage.created_at, ServiceCoverage.service_id)
    elif wanted.service_type is not None:
        query = query.where(Service.service_type == wanted.service_type)
    query = query.join(Organization, Organization.id == Service.organization_id)
    if wanted.organization_id is not None:
        query = query.where(Service.organization_id == wanted.organization_id)
    if wanted.capacity is not None:
        query = query.where(Service.capacity == wanted.capacity)
    if wanted.name is not None:
        query = query.where(
            func.lower(Service.name).contains(wanted.name.strip().lower(), autoescape=True)
        )
    if wanted.age is not None:
        query = query.where(
            or_(Service.age_min.is_(None), Service.age_min <= wanted.age),
            or_(Service.age_max.is_(None), Service.age_max >= wanted.age),
        )
    if wanted.sex is not None:
        query = query.where(
            or_(Service.sexes_key == " ", Service.sexes_key.contains(f" {wanted.sex} "))
        )
    if wanted.language is not None:
        query = query.where(
            Service.languages_key.contains(f" {wanted.language.lower()} ", autoescape=True)
        )
    if cursor:
        at, row_id = pagination.decode_cursor(cursor)
        query = query.where(tuple_(*newest) < tuple_(at, row_id))
    query = pagination.page(
        query, time_column=newest[0], id_column=newest[1], cursor=None, limit=limit
    )
    rows = list(db.execute(query))
    items = [to_read(service, name) for service, name in rows[:limit]]
    last = [service for service, _ in rows]
    return items, pagination.next_cursor(last, limit, time_attr="created_at")


def to_read(service: Service, organization_name: str) -> ServiceRead:
    location = (
        Location(latitude=service.latitude, longitude=service.longitude)
        if service.latitude is not None and service.longitude is not None
        else None
    )
    return ServiceRead(
        id=service.id,
        organization_id=service.organization_id,
        organization_name=organization_name,
        service_type=service.service_type,
        name=service.name,
        description=service.description,
        areas=[AreaRead(path=a.path.rstrip("/"), code=a.code, name=a.name) for a in service.areas],
        location=location,
        focal_point=service.focal_point,
        hours=service.hours,
        eligibility=Eligibility(
            age_min=service.age_min,
            age_max=service.age_max,
            sexes=list(service.sexes or []),  # type: ignore[arg-type]
            legal_statuses=list(service.legal_statuses or []),
        ),
        languages=list(service.languages or []),
        capacity=service.capacity,  # type: ignore[arg-type]
        last_verified_on=service.last_verified_on,
        created_at=service.created_at,
        updated_at=service.updated_at,
    )


def read(*, db: Session, service: Service) -> ServiceRead:
    return to_read(service, db.get_one(Organization, service.organization_id).name)


def verification_due(policy: Policy, last_verified_on: date | None, today: date) -> bool:
    """Whether an entry is due for verification: never verified, or last verified more than
    the policy's `service_directory.verify_every_months` months before `today`."""
    if last_verified_on is None:
        return True
    months = policy.service_directory.verify_every_months
    total = today.year * 12 + today.month - 1 - months
    year, month = divmod(total, 12)
    # the same day `months` months ago (the month's last day when it has no such day)
    following = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    day = min(today.day, (following - date(year, month + 1, 1)).days)
    return last_verified_on < date(year, month + 1, day)


# --- referrals to a service ---------------------------------------------------------------


class ServiceRefused(Problem):
    """A referral to a service that cannot take the subject; an `override_reason` lets it
    through, recorded on the referral."""

    def __init__(self, code: str, title: str, reasons: list[str]) -> None:
        super().__init__(
            422,
            code,
            title,
            "Refer to another service, or state why in override_reason",
            field="service_id",
            reasons=reasons,
        )


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def check_referral(
    *,
    db: Session,
    service_id: str,
    recipient_id: str,
    service_type: str,
    age: int | None,
    sex: str | None,
    overridden: bool,
) -> list[str]:
    """The reasons a referral to this service is out of its rules (empty: none). The service
    must be the recipient's and of the referral's type (422 `invalid_service`, never
    overridable); a full service (`service_full`) or one that does not serve the subject's age
    or sex (`service_not_eligible`) is refused unless `overridden`, and the reasons are
    returned to be recorded with the override."""
    service = db.get(Service, service_id)
    if service is None or service.organization_id != recipient_id:
        raise Unprocessable(
            "invalid_service",
            "The service is not one of the recipient's",
            field="service_id",
        )
    if service.service_type != service_type:
        raise Unprocessable(
            "invalid_service",
            "The service is not of the referral's service type",
            field="service_id",
        )
    reasons: list[str] = []
    if service.capacity == "full":
        reasons.append("service_full")
    if age is not None and (
        (service.age_min is not None and age < service.age_min)
        or (service.age_max is not None and age > service.age_max)
    ):
        reasons.append("age_not_served")
    if sex in ("female", "male", "other") and service.sexes and sex not in service.sexes:
        reasons.append("sex_not_served")
    if reasons and not overridden:
        if "service_full" in reasons:
            raise ServiceRefused("service_full", "The service takes no one at present", reasons)
        raise ServiceRefused(
            "service_not_eligible", "The service does not take this person", reasons
        )
    return reasons
