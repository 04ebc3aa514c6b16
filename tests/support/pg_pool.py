"""Databases for the tests on PostgreSQL: each test gets one holding exactly what the migrated
template holds, and nothing is left on the server at the end.

A database is made from the template (`CREATE DATABASE ... TEMPLATE`) once, then used by test
after test: when a test is done with it, a thread of the test process empties it and writes
back the template's own rows (the migrations' seed rows) and sequence positions, before the
next test takes it. The next test finds it as a fresh copy would be: the tables written to are
emptied by DELETE and then VACUUM, which cuts each emptied table back to no pages at all, so
even the rows' order on disk is a fresh copy's. TRUNCATE would do the same by giving every
table and index written new files: about 90 ms of the server's CPU and 0.4 s per database
(tests/consent: 134 databases emptied, 12.5 s of the server's CPU in TRUNCATE; the whole
emptying now 4.7 s), once per test in a pass of a thousand.

Why not a fresh copy for each test, dropped after it: PostgreSQL 15 runs an immediate
checkpoint for every `DROP DATABASE` (it must forget the files' pending fsyncs), which writes
out every dirty page of every database on the server: seconds each on a shared disk, once per
test, in both CI passes' and every other run's tests at once. The thread dropping them fell
behind the tests: tests waited up to 14 s for a copy, and a worker's last test waited 80-90 s
while the copies left were dropped. Emptying a database takes a fraction of that and
checkpoints nothing.

A database comes back to the template's state only when its schema is the template's again
once the tables a test added (the outbox tests' effects table) are dropped: tables, columns,
indexes, constraints, functions, triggers, types (`SCHEMA_FINGERPRINT`). One a test changed
otherwise is dropped and a new copy made instead.
Its connections are ended first, so no process the test started can still write into it (the
conftest gives a database back only once every fixture of its test has been torn down, so
those processes have already been killed).
"""

from __future__ import annotations

import io
import queue
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

# copies kept ready: one for the next test, one for a test that follows at once
AHEAD = 2
# a copy is made in well under a second; this long means the server is stuck or gone
TAKE_TIMEOUT = 120.0

_USER_SCHEMAS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'"
)
# what a test could change of a database besides its rows; equal to the template's, emptying
# the tables and putting back the template's rows and sequences gives the template again
SCHEMA_FINGERPRINT = f"""
SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) FROM (
  SELECT 'schema ' || nspname AS item FROM pg_namespace n WHERE {_USER_SCHEMAS}
  UNION ALL
  SELECT 'relation ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' '
         || c.relpersistence::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_SCHEMAS}
  UNION ALL
  SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname || ' '
         || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text || ' '
         || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE {_USER_SCHEMAS} AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_SCHEMAS}
  UNION ALL
  SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' '
         || pg_get_constraintdef(co.oid)
  FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace WHERE {_USER_SCHEMAS}
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid))
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE {_USER_SCHEMAS} AND p.prokind IN ('f', 'p')
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE NOT t.tgisinternal
  UNION ALL
  SELECT 'type ' || n.nspname || '.' || t.typname
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {_USER_SCHEMAS}
  UNION ALL
  SELECT 'extension ' || extname || ' ' || extversion FROM pg_extension
  UNION ALL
  SELECT 'setting ' || array_to_string(setconfig, ',') FROM pg_db_role_setting
  WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
) AS schema_items
"""
_TABLES = f"""
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_SCHEMAS} AND c.relkind IN ('r', 'p') ORDER BY 1
"""
_WRITTEN_TABLES = f"""
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_SCHEMAS} AND c.relkind = 'r' AND pg_relation_size(c.oid) > 0 ORDER BY 1
"""
_SEQUENCES = """
SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value
FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
"""


class _Template:
    """What a database must hold to be the template again: its schema's fingerprint, its
    tables, the rows some of them start with, and its sequences' positions."""

    def __init__(self, url: URL) -> None:
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                self.fingerprint = str(conn.execute(text(SCHEMA_FINGERPRINT)).scalar_one())
                self.tables = [str(t) for t in conn.execute(text(_TABLES)).scalars()]
                self.sequences = [(str(s), v) for s, v in conn.execute(text(_SEQUENCES)).all()]
                self.rows: dict[str, bytes] = {}
                for table in self.tables:
                    if conn.execute(text(f"SELECT EXISTS (SELECT FROM {table})")).scalar_one():
                        self.rows[table] = _copy_out(conn, table)
        finally:
            engine.dispose()

    def restore(self, conn: Connection) -> bool:
        """Make the database on `conn` the template again, or False if its schema changed."""
        # tables a test added (the outbox tests' effects table) go, with what hangs on them
        added = [str(t) for t in conn.execute(text(_TABLES)).scalars() if t not in self.tables]
        if added:
            conn.execute(text(f"DROP TABLE {', '.join(added)} CASCADE"))
        if conn.execute(text(SCHEMA_FINGERPRINT)).scalar_one() != self.fingerprint:
            conn.rollback()
            return False
        # the tables that hold anything, or ever did: emptied, then vacuumed back to no pages,
        # so rows go in as in a fresh copy (pages and order: a query without ORDER BY sees the
        # same order; dead rows left in place would give their space to later rows)
        written = [str(t) for t in conn.execute(text(_WRITTEN_TABLES)).scalars()]
        if written:
            # every row goes, whatever refers to it: no foreign-key trigger fires in this role
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in written:
                conn.execute(text(f"DELETE FROM {table}"))
            conn.commit()
            _vacuum(conn, written)
        for table, rows in self.rows.items():
            if not conn.execute(text(f"SELECT EXISTS (SELECT FROM {table})")).scalar_one():
                _copy_in(conn, table, rows)
        for sequence, last_value in self.sequences:
            if last_value is None:  # never used: the next value is the start again
                conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
            else:
                conn.execute(text("SELECT setval(:s, :v, true)"), {"s": sequence, "v": last_value})
        conn.commit()
        return True


def _vacuum(conn: Connection, tables: list[str]) -> None:
    """VACUUM runs outside a transaction: on the driver's connection, in autocommit for it alone.
    No other connection to the database is left, so every row deleted is removed and the
    tables' emptied pages are cut off."""
    driver = conn.connection.driver_connection
    driver.autocommit = True  # type: ignore[union-attr]
    try:
        driver.execute(f"VACUUM {', '.join(tables)}")  # type: ignore[union-attr]
    finally:
        driver.autocommit = False  # type: ignore[union-attr]


def _copy_out(conn: Connection, table: str) -> bytes:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    out = io.BytesIO()
    with cursor.copy(f"COPY {table} TO STDOUT") as copy:
        for chunk in copy:
            out.write(chunk)
    return out.getvalue()


def _copy_in(conn: Connection, table: str, rows: bytes) -> None:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table} FROM STDIN") as copy:
        copy.write(rows)


class DatabasePool:
    """`take()` a database as the template is, `give_back(name)` once the test is done with it."""

    def __init__(self, admin_url: URL, template: str) -> None:
        self._admin_url = admin_url
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._template_name = template
        self._template = _Template(admin_url.set(database=template))
        self._ready: queue.Queue[str] = queue.Queue()
        self._used: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="database-pool", daemon=True)
        self._thread.start()

    def take(self) -> str:
        deadline = time.monotonic() + TAKE_TIMEOUT
        while True:
            try:
                return self._ready.get(timeout=0.1)
            except queue.Empty:
                if self._error is not None:
                    raise RuntimeError("the database pool failed") from self._error
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"no copy of {self._template_name} was made within {TAKE_TIMEOUT:.0f} s"
                    ) from None

    def give_back(self, name: str) -> None:
        if self._stop.is_set():
            # the run's last test gives its database back after the pool was closed
            self._drop(name)
            self._admin.dispose()
            return
        self._used.put(name)

    def close(self) -> None:
        """Stop, and drop every database of the pool, ready or used."""
        self._stop.set()
        self._thread.join(timeout=TAKE_TIMEOUT)
        left = [q.get_nowait() for q in (self._ready, self._used) for _ in range(q.qsize())]
        # at once: each DROP DATABASE waits for a checkpoint, and drops that wait together are
        # served by the same one
        with ThreadPoolExecutor(max_workers=max(len(left), 1)) as dropping:
            list(dropping.map(self._drop, left))
        self._admin.dispose()
        if self._error is not None:
            raise RuntimeError("the database pool failed") from self._error

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                # a database a test gave back comes first: it is ready sooner than a new copy
                try:
                    used = self._used.get(timeout=0.02)
                except queue.Empty:
                    if self._ready.qsize() < AHEAD:
                        self._ready.put(self._create())
                    continue
                if self._restore(used):
                    self._ready.put(used)
                else:
                    self._drop(used)
            except BaseException as error:  # reported by take() and close()
                self._error = error
                return

    def _restore(self, name: str) -> bool:
        """`name` emptied back to the template's rows, or False (to be dropped) if it cannot be."""
        with self._admin.connect() as conn:
            # whatever still holds a connection to it must not write into the next test's rows
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        engine = create_engine(self._admin_url.set(database=name), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return self._template.restore(conn)
        finally:
            engine.dispose()

    def _create(self) -> str:
        name = f"hub_test_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self._template_name}"'))
        return name

    def _drop(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
