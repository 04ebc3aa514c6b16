"""Database errors that the same work, tried again, gets past."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError

# SQLSTATE class 40, "transaction rollback": PostgreSQL chose this transaction as a deadlock's
# victim (40P01) or could not serialize it (40001); nothing of it was kept
_ROLLED_BACK_CLASS = "40"
# SQLite: another connection held the database or a table past the busy timeout
_SQLITE_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is the database refusing this transaction for now, not for what it does:
    retried from the start, the same work can succeed."""
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)  # psycopg
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_ROLLED_BACK_CLASS)
    code = getattr(exc.orig, "sqlite_errorcode", None)
    # extended result codes keep the primary code in their low byte (SQLITE_BUSY_SNAPSHOT, ...)
    return isinstance(code, int) and (code & 0xFF) in _SQLITE_BUSY
