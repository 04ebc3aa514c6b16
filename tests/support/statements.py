"""Counting the SQL statements a piece of code sends to the database (each one a round trip),
for the ceilings on the hot routes (tests/api/test_statement_counts.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


class Statements:
    def __init__(self) -> None:
        self.sql: list[str] = []

    def __len__(self) -> int:
        return len(self.sql)

    def record(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # SQLite's BEGIN IMMEDIATE is sent as a statement, PostgreSQL's BEGIN is not: left out,
        # so that both count the same
        if not statement.lstrip().upper().startswith("BEGIN"):
            self.sql.append(" ".join(statement.split())[:400])

    def report(self) -> str:
        return "\n".join(f"{i + 1:3}. {sql}" for i, sql in enumerate(self.sql))


@contextmanager
def counted(engine: Engine) -> Iterator[Statements]:
    """Every statement `engine` executes inside the block, BEGIN and COMMIT aside."""
    found = Statements()
    event.listen(engine, "before_cursor_execute", found.record)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", found.record)
