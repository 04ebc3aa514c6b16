"""Which database errors are worth the same work again: a deadlock's victim, a transaction
PostgreSQL could not serialize, a busy SQLite database; not a broken rule or a wrong query."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from hub.db.transient import is_transient


def _raised(path: Path, statement: str) -> DBAPIError:
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
            conn.execute(text(statement))
        return caught.value
    finally:
        engine.dispose()


def test_a_busy_sqlite_database_is_transient(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    holder = create_engine(f"sqlite:///{path}")
    with holder.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    with holder.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, held
        busy = _raised(path, "INSERT INTO t (id) VALUES (1)")
        conn.exec_driver_sql("ROLLBACK")
    holder.dispose()
    assert isinstance(busy, OperationalError) and "locked" in str(busy.orig)
    assert is_transient(busy)


def test_errors_of_the_work_itself_are_not(tmp_path: Path) -> None:
    path = tmp_path / "rules.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t (id) VALUES (1)"))
    engine.dispose()
    duplicate = _raised(path, "INSERT INTO t (id) VALUES (1)")
    assert isinstance(duplicate, IntegrityError) and not is_transient(duplicate)
    missing = _raised(path, "SELECT * FROM nowhere")
    assert isinstance(missing, OperationalError) and not is_transient(missing)
    assert not is_transient(RuntimeError("deadlock detected"))


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (psycopg.errors.DeadlockDetected, True),  # 40P01
        (psycopg.errors.SerializationFailure, True),  # 40001
        (psycopg.errors.UniqueViolation, False),  # 23505
        (psycopg.errors.LockNotAvailable, False),  # 55P03: a NOWAIT the work asked for
    ],
)
def test_postgresql_errors_by_their_sqlstate(error: type[Exception], transient: bool) -> None:
    wrapped = DBAPIError.instance("UPDATE t", {}, error("refused"), psycopg.Error)
    assert is_transient(wrapped) is transient
