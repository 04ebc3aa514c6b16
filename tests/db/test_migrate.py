import pytest
from sqlalchemy import inspect

from hub.db import migrate
from hub.models import Base
from hub.runtime import Runtime


def test_migrations_create_every_table_of_the_models(runtime: Runtime) -> None:
    tables = set(inspect(runtime.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert migrate.is_current(runtime.engine)


def test_upgrade_twice_is_harmless(runtime: Runtime) -> None:
    migrate.upgrade(runtime.engine)
    assert migrate.is_current(runtime.engine)


def test_sqlite_connections_overwrite_deleted_content(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragma")
    with runtime.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
