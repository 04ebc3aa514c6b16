"""Searches as FHIR searchset Bundles: the parameters the facade knows, `_count`, and paging by
an opaque cursor in the `next` link (keyset: stable while rows change, no OFFSET scans)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntrySearch, BundleLink
from fhir.resources.R4B.resource import Resource

from hub.api.pagination import decode_cursor, encode_cursor
from hub.api.problems import Unprocessable
from hub.fhir.media import BASE

DEFAULT_COUNT = 50
MAX_COUNT = 200
CURSOR = "_cursor"
# what every search takes beside its own parameters
COMMON = frozenset({"_count", CURSOR, "_format"})
PREFIXES = ("ge", "le", "gt", "lt", "eq")


def check_params(request: Request, known: Iterable[str]) -> None:
    """422 for a parameter the search does not know (FHIR's strict handling): a client never
    believes a filter was applied that was not. The name is said, never the value."""
    allowed = COMMON | set(known)
    unknown = sorted({k for k in request.query_params if k not in allowed})
    if unknown:
        raise Unprocessable(
            "unknown_search_parameter",
            "The search does not support this parameter",
            field=unknown[0][:40],
            allowed=sorted(allowed),
        )


def count(request: Request) -> int:
    raw = request.query_params.get("_count")
    if raw is None:
        return DEFAULT_COUNT
    if not raw.isdigit() or not 0 < int(raw) <= MAX_COUNT:
        raise Unprocessable(
            "invalid_count", "_count must be a whole number from 1 to 200", field="_count"
        )
    return int(raw)


def cursor(request: Request) -> tuple[datetime, str] | None:
    raw = request.query_params.get(CURSOR)
    return decode_cursor(raw) if raw else None


def raw_cursor(request: Request) -> str | None:
    return request.query_params.get(CURSOR) or None


def next_cursor(at: datetime, row_id: str) -> str:
    return encode_cursor(at, row_id)


def date_bounds(values: Sequence[str], field: str) -> list[tuple[str, datetime]]:
    """`_lastUpdated=ge2026-01-01T00:00:00Z` (and le, gt, lt, eq) as (prefix, time)."""
    bounds = []
    for value in values:
        prefix = value[:2] if value[:2] in PREFIXES else "eq"
        text = value[2:] if value[:2] in PREFIXES else value
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise Unprocessable(
                "invalid_date", "Not a date or time FHIR search reads", field=field
            ) from None
        if at.tzinfo is None:
            raise Unprocessable("invalid_date", "Give the time with its zone", field=field)
        bounds.append((prefix, at))
    return bounds


def reference_id(value: str, resource: str, field: str) -> str:
    """`Organization/abc` or `abc` → `abc`."""
    found = value.removeprefix(f"{resource}/")
    if not found or "/" in found or len(found) > 64:
        raise Unprocessable("invalid_reference", f"Not a {resource} reference", field=field)
    return found


def searchset(
    request: Request,
    resource_type: str,
    resources: Sequence[Resource],
    next_cursor: str | None,
) -> Bundle:
    """The page, with its `self` link and a `next` link carrying the cursor when there is more."""
    params: list[tuple[str, Any]] = [
        (k, v) for k, v in request.query_params.multi_items() if k != CURSOR
    ]
    url = f"{str(request.base_url).rstrip('/')}{BASE}/{resource_type}"
    links = [BundleLink(relation="self", url=_url(url, request.query_params.multi_items()))]
    if next_cursor is not None:
        links.append(BundleLink(relation="next", url=_url(url, [*params, (CURSOR, next_cursor)])))
    return Bundle(
        type="searchset",
        link=links,
        entry=[
            BundleEntry(
                fullUrl=f"{url}/{r.id}",
                resource=r,
                search=BundleEntrySearch(mode="match"),
            )
            for r in resources
        ]
        or None,
    )


def _url(url: str, params: Iterable[tuple[str, Any]]) -> str:
    query = urlencode(list(params))
    return f"{url}?{query}" if query else url
