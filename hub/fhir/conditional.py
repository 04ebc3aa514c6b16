"""Conditional creates (`If-None-Exist`): a sender's retry finds the referral it already made.

A sender names its Task or ServiceRequest by an identifier of its own (`identifier`, its
system and value); the facade keeps them (`SenderIdentifier`) when the referral is made. A
create that carries `If-None-Exist: identifier=<system>|<value>` (the header on `POST Task`, or
the same search in its URL, `POST Task?identifier=...`;
`request.ifNoneExist` on the Task or ServiceRequest entry of a transaction Bundle) is FHIR's
conditional create: no match, the referral is made; one match, nothing is made and the
answer is the existing referral (200); several, 412 `multiple_matches`. Only the caller's own
referrals match (the sender's organisation, in the query): another's identifiers are not
seen. `identifier` is the only search a condition may use; anything else is 400.

A retry without a condition is kept from making a second referral by `Idempotency-Key`
(`hub.api.idempotency`), as on `POST /v1/referrals`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from fastapi import Request as HttpRequest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.problems import Problem
from hub.fhir import codes
from hub.fhir.creating import Request
from hub.fhir.models import SenderIdentifier
from hub.organizations.models import Organization
from hub.referrals.models import Referral

MAX_LENGTH = 255
# the hub's own systems: a sender cannot claim them for its identifiers
HUB_SYSTEMS = frozenset(
    {codes.REFERRAL_SYSTEM, codes.CASE_SYSTEM, codes.CASE_REFERENCE_SYSTEM, codes.CONSENT_SYSTEM}
)


def _invalid(message: str) -> Problem:
    return Problem(400, "invalid_condition", message, field="If-None-Exist")


def _identifier(condition: str) -> tuple[str, str]:
    """`identifier=<system>|<value>` → (system, value); 400 for any other search."""
    params = parse_qsl(condition.lstrip("?"), keep_blank_values=True)
    if len(params) != 1 or params[0][0] != "identifier":
        raise _invalid("If-None-Exist takes one search: identifier=<system>|<value>")
    system, bar, value = params[0][1].partition("|")
    if not bar or not system or not value:
        raise _invalid("Give the identifier as <system>|<value>")
    if len(system) > MAX_LENGTH or len(value) > MAX_LENGTH:
        raise _invalid("The identifier is too long")
    return system, value


def from_query(request: HttpRequest) -> str | None:
    """The condition of a `POST Task?identifier=...` (the search in the URL, as some clients
    send a conditional create), as an `If-None-Exist` value; None without one."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "_format"]
    return urlencode(params, safe=":|/") if params else None


def existing(db: Session, *, organization_id: str, request: Request) -> Referral | None:
    """The caller's referral the request's conditions match (None: make it; 412: several).

    With a condition, the sender's organisation row is locked until the request's transaction
    ends: two conditional creates of one sender at once are answered one after the other, so
    the second finds what the first made (PostgreSQL; SQLite has one writer at a time)."""
    if not request.conditions:
        return None
    db.get(Organization, organization_id, with_for_update=True)
    found: set[str] = set()
    for resource_type, condition in sorted(request.conditions.items()):
        system, value = _identifier(condition)
        found.update(
            db.scalars(
                select(SenderIdentifier.referral_id)
                .join(Referral, Referral.id == SenderIdentifier.referral_id)
                .where(
                    SenderIdentifier.organization_id == organization_id,
                    SenderIdentifier.resource_type == resource_type,
                    SenderIdentifier.system == system,
                    SenderIdentifier.value == value,
                    Referral.from_organization_id == organization_id,
                )
                .limit(2)
            )
        )
    if len(found) > 1:
        raise Problem(
            412,
            "multiple_matches",
            "The conditional create matches more than one referral",
            "Nothing was made. Name the referral by an identifier that only it carries.",
        )
    return db.get(Referral, found.pop()) if found else None


def keep(db: Session, *, referral: Referral, request: Request) -> None:
    """The identifiers the sender gave its Task and ServiceRequest, for later conditions."""
    resources = [("ServiceRequest", request.service_request), ("Task", request.task)]
    kept: set[tuple[str, str, str]] = set()
    for resource_type, resource in resources:
        for identifier in (resource.identifier or ()) if resource is not None else ():
            system, value = identifier.system, identifier.value
            if not system or not value or system in HUB_SYSTEMS:
                continue
            if len(system) > MAX_LENGTH or len(value) > MAX_LENGTH:
                continue
            if (resource_type, system, value) in kept:
                continue
            kept.add((resource_type, system, value))
            db.add(
                SenderIdentifier(
                    referral_id=referral.id,
                    organization_id=referral.from_organization_id,
                    resource_type=resource_type,
                    system=str(system),
                    value=str(value),
                )
            )
