"""Keyset pagination with opaque cursors: stable under inserts, no OFFSET scans."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from hub.api.problems import Problem

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(at: datetime, row_id: str) -> str:
    raw = json.dumps([at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, row_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), str(row_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise Problem(400, "invalid_cursor", "The pagination cursor is not valid") from None


def page(
    query: Select[Any],
    *,
    time_column: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[str],
    cursor: str | None,
    limit: int,
) -> Select[Any]:
    """Newest first; one row more than asked, to know whether there is a next page."""
    if cursor:
        at, row_id = decode_cursor(cursor)
        query = query.where(or_(time_column < at, and_(time_column == at, id_column < row_id)))
    return query.order_by(time_column.desc(), id_column.desc()).limit(limit + 1)


def next_cursor(rows: list[Any], limit: int, *, time_attr: str, id_attr: str = "id") -> str | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor(getattr(last, time_attr), getattr(last, id_attr))
