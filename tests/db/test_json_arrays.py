"""`json_array_has`: a JSON array column holds a string, answered in SQL by SQLite (JSON1) and
PostgreSQL (jsonb) alike, in a select list and in a WHERE (as the FHIR Consent read uses it)."""

from __future__ import annotations

from sqlalchemy import JSON, literal, select

from hub.db.json_arrays import json_array_has
from hub.runtime import Runtime


def test_json_array_has_on_this_database(runtime: Runtime) -> None:
    cases = [
        (["abc", "def"], "abc", True),
        (["abc", "def"], "ab", False),  # a whole element, not a substring
        ([], "abc", False),
        (['a"b', "c"], 'a"b', True),
        (["x"], "%", False),
    ]
    with runtime.sessions() as db:
        for values, wanted, expected in cases:
            found = db.scalar(select(json_array_has(literal(values, JSON), wanted)))
            assert bool(found) is expected, (values, wanted)
            where = db.scalar(
                select(literal(1)).where(json_array_has(literal(values, JSON), wanted))
            )
            assert (where == 1) is expected, (values, wanted)
