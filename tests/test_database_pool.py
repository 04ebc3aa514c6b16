"""The PostgreSQL pass's databases (tests/support/pg_pool.py): one a test wrote into is given to
the next test as a fresh copy of the template would be, rows, pages and sequences alike."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.support.passes import PG_URL
from tests.support.pg_pool import _TABLES, _Template

pytestmark = pytest.mark.skipif(not PG_URL, reason="the pool serves the PostgreSQL pass")


def _state(conn: Connection) -> dict[str, object]:
    """What a test could see of a database's rows: each table's rows in the order a plain scan
    gives them, its size in pages, and the next value of each sequence's counter."""
    tables = [str(t) for t in conn.execute(text(_TABLES)).scalars()]
    state: dict[str, object] = {}
    for table in tables:
        rows = conn.execute(text(f"SELECT * FROM {table}")).all()
        pages = conn.execute(text(f"SELECT pg_relation_size('{table}') / 8192")).scalar_one()
        state[table] = ([tuple(map(str, row)) for row in rows], pages)
    for name, last_value in conn.execute(
        text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
    ):
        state[f"sequence {name}"] = last_value
    return state


@pytest.fixture
def copies(database_template: str) -> Iterator[tuple[Engine, Engine]]:
    """The template and a copy of it, each behind an engine; the copy is dropped at the end."""
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"hub_test_pool_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{database_template}"'))
    template = create_engine(make_url(PG_URL).set(database=database_template), poolclass=NullPool)
    copy = create_engine(make_url(PG_URL).set(database=name), poolclass=NullPool)
    try:
        yield template, copy
    finally:
        template.dispose()
        copy.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _write(conn: Connection) -> None:
    """Rows as a test leaves them: a row and the rows that refer to it, enough of them to fill
    pages, a seed row changed, a sequence moved."""
    conn.execute(
        text(
            "INSERT INTO organizations (id, name, kind, created_at) "
            "VALUES ('parent', 'IOM Niger', 'iom_office', now())"
        )
    )
    conn.execute(
        text(
            "INSERT INTO organizations (id, name, kind, parent_id, created_at) "
            "SELECT 'child-' || n, n || repeat('x', 190), 'iom_office', 'parent', now() "
            "FROM generate_series(1, 200) AS n"
        )
    )
    conn.execute(text("UPDATE audit_head SET seq = seq + 7, hash = repeat('f', 64)"))
    conn.execute(text("INSERT INTO rate_limit_hits (bucket, key, at) VALUES ('token', 'k', 1)"))
    conn.commit()


def test_a_database_a_test_wrote_into_is_the_template_again(
    copies: tuple[Engine, Engine],
) -> None:
    template_engine, copy = copies
    with template_engine.connect() as conn:
        template = _Template(template_engine.url)
        expected = _state(conn)
    with copy.connect() as conn:
        _write(conn)
        written = _state(conn)
        assert written != expected  # the writes show before the database is emptied

        assert template.restore(conn) is True
        # in the next test's connection, as the next test would see it
    with copy.connect() as conn:
        assert _state(conn) == expected
        # and it takes rows as a fresh copy does: the first row on the first page
        conn.execute(
            text(
                "INSERT INTO organizations (id, name, kind, created_at) "
                "VALUES ('again', 'UNHCR', 'un_agency', now())"
            )
        )
        assert conn.execute(text("SELECT ctid::text FROM organizations")).scalar_one() == "(0,1)"
        rate_id = conn.execute(
            text("INSERT INTO rate_limit_hits (bucket, key, at) VALUES ('t', 'k', 1) RETURNING id")
        ).scalar_one()
        assert rate_id == 1
        conn.rollback()


def test_a_database_whose_schema_a_test_changed_is_not_given_again(
    copies: tuple[Engine, Engine],
) -> None:
    template_engine, copy = copies
    template = _Template(template_engine.url)
    with copy.connect() as conn:
        conn.execute(text("ALTER TABLE organizations ADD COLUMN nickname varchar(20)"))
        conn.commit()
        assert template.restore(conn) is False
