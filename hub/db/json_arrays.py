"""Conditions on JSON columns that both databases answer in SQL.

`json_array_has(column, value)`: the JSON array in `column` holds the string `value`. SQLite
(JSON1, built in since 3.38) reads it with `json_each`, PostgreSQL as `jsonb` containment
(`@>`, the column cast: the hub's JSON columns are `json` there). Another dialect is refused
when the query is compiled, never answered wrongly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, String, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FunctionElement


class json_array_has(FunctionElement[bool]):
    """`column` (a JSON array of strings) holds `value`."""

    type = Boolean()
    inherit_cache = True
    name = "json_array_has"

    def __init__(self, column: ColumnElement[Any], value: str) -> None:
        super().__init__(column, bindparam(None, value, type_=String()))


@compiles(json_array_has, "sqlite")
def _sqlite(element: json_array_has, compiler: Any, **kw: Any) -> str:
    column, value = list(element.clauses)
    # compiled SQL of the two clauses (the value is a bound parameter), not text from outside
    array, wanted = compiler.process(column, **kw), compiler.process(value, **kw)
    return f"EXISTS (SELECT 1 FROM json_each({array}) WHERE json_each.value = {wanted})"  # noqa: S608


@compiles(json_array_has, "postgresql")
def _postgresql(element: json_array_has, compiler: Any, **kw: Any) -> str:
    column, value = list(element.clauses)
    return (
        f"(CAST({compiler.process(column, **kw)} AS JSONB) @> "
        f"jsonb_build_array(CAST({compiler.process(value, **kw)} AS TEXT)))"
    )


@compiles(json_array_has)
def _other(element: json_array_has, compiler: Any, **kw: Any) -> str:
    raise NotImplementedError(f"json_array_has is not written for {compiler.dialect.name}")
