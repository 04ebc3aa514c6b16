"""The directory as Open Referral HSDS 3.0 JSON (and a flat CSV), out and back in.

Each service is an HSDS service with its organisation nested (`organization`: id, name), its
`minimum_age`/`maximum_age`, `assured_date` (the date it was last verified), `languages`,
`schedules` (the hours, as a description), `contacts` (the focal point, as a title),
`service_at_locations` (the point) and `service_areas` (each area's code path in `extent`, with
`extent_type` `referral-hub:area_path`). What HSDS has no field for is an attribute under a
taxonomy of the hub's: `referral-hub:service_type`, `referral-hub:sex`,
`referral-hub:legal_status` and `referral-hub:capacity`.

Importing goes through the same checks as the API (`hub.service_directory.service`): a service
whose id is known is updated (it must stay with its organisation), any other is added; an
organisation is found by id, else by its exact name. A file with any refused record changes
nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.problems import Unprocessable
from hub.organizations.models import Organization
from hub.policy.loader import OPERATOR_KIND, Policy
from hub.service_directory import service as directory
from hub.service_directory.models import Service
from hub.service_directory.schemas import ServiceCreate, ServiceUpdate

HSDS_VERSION = "3.0"
TAXONOMY = "referral-hub"
AREA_PATH = f"{TAXONOMY}:area_path"
TYPE, SEX, LEGAL, CAPACITY = (
    f"{TAXONOMY}:{name}" for name in ("service_type", "sex", "legal_status", "capacity")
)


def _attribute(taxonomy: str, code: str) -> dict[str, Any]:
    return {"taxonomy_term": {"code": code, "name": code, "taxonomy": taxonomy}}


def to_hsds(service: Service, organization: Organization) -> dict[str, Any]:
    attributes = [_attribute(TYPE, service.service_type), _attribute(CAPACITY, service.capacity)]
    attributes += [_attribute(SEX, s) for s in service.sexes or []]
    attributes += [_attribute(LEGAL, s) for s in service.legal_statuses or []]
    located = service.latitude is not None and service.longitude is not None
    return {
        "id": service.id,
        "organization": {"id": organization.id, "name": organization.name},
        "name": service.name,
        "description": service.description,
        "status": "active",
        "minimum_age": service.age_min,
        "maximum_age": service.age_max,
        "assured_date": service.last_verified_on.isoformat() if service.last_verified_on else None,
        "last_modified": service.updated_at.isoformat(),
        "languages": [{"code": code} for code in service.languages or []],
        "schedules": [{"description": service.hours}] if service.hours else [],
        "contacts": [{"title": service.focal_point}] if service.focal_point else [],
        "service_areas": [
            {"name": a.name, "extent": a.path.rstrip("/"), "extent_type": AREA_PATH}
            for a in service.areas
        ],
        "service_at_locations": (
            [{"location": {"latitude": service.latitude, "longitude": service.longitude}}]
            if located
            else []
        ),
        "attributes": attributes,
    }


def _rows(db: Session) -> Iterator[tuple[Service, Organization]]:
    query = (
        select(Service, Organization)
        .join(Organization, Organization.id == Service.organization_id)
        .order_by(Organization.name, Service.name, Service.id)
    )
    yield from db.execute(query).tuples()


def export_json(db: Session) -> dict[str, Any]:
    return {
        "hsds_version": HSDS_VERSION,
        "services": [to_hsds(service, org) for service, org in _rows(db)],
    }


def _codes(record: dict[str, Any], taxonomy: str) -> list[str]:
    codes = []
    for attribute in record.get("attributes") or []:
        term = (attribute or {}).get("taxonomy_term") or {}
        if term.get("taxonomy") == taxonomy and isinstance(term.get("code"), str):
            codes.append(term["code"])
    return codes


def from_hsds(record: dict[str, Any]) -> dict[str, Any]:
    """The API's fields of one HSDS service (validated by the caller with ServiceCreate)."""
    types = _codes(record, TYPE)
    capacity = _codes(record, CAPACITY)
    schedules = record.get("schedules") or []
    contacts = record.get("contacts") or []
    located = [(s or {}).get("location") or {} for s in record.get("service_at_locations") or []]
    point = next((p for p in located if "latitude" in p and "longitude" in p), None)
    fields: dict[str, Any] = {
        "service_type": types[0] if types else None,
        "name": record.get("name"),
        "description": record.get("description"),
        "areas": [
            {"path": a.get("extent"), "name": a.get("name")}
            for a in record.get("service_areas") or []
            if a.get("extent_type") in (AREA_PATH, None) and a.get("extent")
        ],
        "location": (
            {"latitude": point["latitude"], "longitude": point["longitude"]} if point else None
        ),
        "focal_point": next((c.get("title") or c.get("name") for c in contacts), None),
        "hours": next((s.get("description") for s in schedules), None),
        "eligibility": {
            "age_min": record.get("minimum_age"),
            "age_max": record.get("maximum_age"),
            "sexes": _codes(record, SEX),
            "legal_statuses": _codes(record, LEGAL),
        },
        "languages": [
            lang.get("code") for lang in record.get("languages") or [] if lang.get("code")
        ],
        "last_verified_on": record.get("assured_date"),
    }
    if capacity:
        fields["capacity"] = capacity[0]
    return fields


class ImportRefused(Exception):
    """Records refused, by their position in the file (1-based) and why; nothing is stored."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(f"record {n}: {why}" for n, why in problems))
        self.problems = problems


def _organization(db: Session, given: dict[str, Any]) -> Organization | None:
    org = db.get(Organization, given["id"]) if given.get("id") else None
    if org is None and given.get("name"):
        org = db.scalar(select(Organization).where(Organization.name == given["name"]))
    return None if org is None or org.kind == OPERATOR_KIND else org


def import_records(
    *, db: Session, policy: Policy, actor: str, records: Iterable[dict[str, Any]]
) -> dict[str, int]:
    """Add or update each record's service; {"added": n, "updated": m}. Raises ImportRefused
    (the caller rolls back) listing every record refused."""
    problems: list[tuple[int, str]] = []
    counts = {"added": 0, "updated": 0}
    for n, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            problems.append((n, "not an object"))
            continue
        org = _organization(db, record.get("organization") or {})
        if org is None:
            problems.append((n, "unknown organisation"))
            continue
        fields = from_hsds(record)
        try:
            existing = db.get(Service, record["id"]) if record.get("id") else None
            if existing is not None:
                if existing.organization_id != org.id:
                    problems.append((n, "the service belongs to another organisation"))
                    continue
                data = ServiceUpdate.model_validate(
                    {k: v for k, v in fields.items() if v is not None or k != "service_type"}
                )
                directory.update(db=db, policy=policy, actor=actor, service=existing, data=data)
                counts["updated"] += 1
            else:
                create = ServiceCreate.model_validate(
                    {k: v for k, v in fields.items() if v is not None}
                )
                directory.create(
                    db=db,
                    policy=policy,
                    actor=actor,
                    organization_id=org.id,
                    data=create,
                    service_id=record.get("id") or None,
                )
                counts["added"] += 1
        except ValidationError as exc:
            where = ", ".join(
                ".".join(str(p) for p in err["loc"]) or "record" for err in exc.errors()
            )
            problems.append((n, f"invalid {where}"))
        except Unprocessable as exc:
            problems.append((n, exc.title))
    if problems:
        raise ImportRefused(problems)
    return counts


# --- CSV: one row a service; lists joined with ";", an area as `path|name` -----------------

CSV_COLUMNS = (
    "id",
    "organization_id",
    "organization_name",
    "service_type",
    "name",
    "description",
    "areas",
    "latitude",
    "longitude",
    "focal_point",
    "hours",
    "age_min",
    "age_max",
    "sexes",
    "legal_statuses",
    "languages",
    "capacity",
    "last_verified_on",
)


def export_csv(db: Session) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for service, org in _rows(db):
        writer.writerow(
            {
                "id": service.id,
                "organization_id": org.id,
                "organization_name": org.name,
                "service_type": service.service_type,
                "name": service.name,
                "description": service.description or "",
                "areas": ";".join(
                    a.path.rstrip("/") + (f"|{a.name}" if a.name else "") for a in service.areas
                ),
                "latitude": "" if service.latitude is None else service.latitude,
                "longitude": "" if service.longitude is None else service.longitude,
                "focal_point": service.focal_point or "",
                "hours": service.hours or "",
                "age_min": "" if service.age_min is None else service.age_min,
                "age_max": "" if service.age_max is None else service.age_max,
                "sexes": ";".join(service.sexes or []),
                "legal_statuses": ";".join(service.legal_statuses or []),
                "languages": ";".join(service.languages or []),
                "capacity": service.capacity,
                "last_verified_on": (
                    service.last_verified_on.isoformat() if service.last_verified_on else ""
                ),
            }
        )
    return out.getvalue()


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def csv_records(text: str) -> list[dict[str, Any]]:
    """The CSV's rows as HSDS records, for `import_records`."""
    records = []
    for row in csv.DictReader(io.StringIO(text)):
        attributes = [_attribute(TYPE, row.get("service_type") or "")]
        if row.get("capacity"):
            attributes.append(_attribute(CAPACITY, row["capacity"]))
        attributes += [_attribute(SEX, s) for s in _split(row.get("sexes"))]
        attributes += [_attribute(LEGAL, s) for s in _split(row.get("legal_statuses"))]
        areas = []
        for item in _split(row.get("areas")):
            path, _, name = item.partition("|")
            areas.append({"extent": path, "name": name or None, "extent_type": AREA_PATH})
        located = row.get("latitude") and row.get("longitude")
        records.append(
            {
                "id": row.get("id") or None,
                "organization": {
                    "id": row.get("organization_id") or None,
                    "name": row.get("organization_name") or None,
                },
                "name": row.get("name"),
                "description": row.get("description") or None,
                "minimum_age": int(row["age_min"]) if row.get("age_min") else None,
                "maximum_age": int(row["age_max"]) if row.get("age_max") else None,
                "assured_date": row.get("last_verified_on") or None,
                "languages": [{"code": c} for c in _split(row.get("languages"))],
                "schedules": [{"description": row["hours"]}] if row.get("hours") else [],
                "contacts": [{"title": row["focal_point"]}] if row.get("focal_point") else [],
                "service_areas": areas,
                "service_at_locations": (
                    [
                        {
                            "location": {
                                "latitude": float(row["latitude"]),
                                "longitude": float(row["longitude"]),
                            }
                        }
                    ]
                    if located
                    else []
                ),
                "attributes": attributes,
            }
        )
    return records
