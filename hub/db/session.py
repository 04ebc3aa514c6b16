"""Engines and sessions. Services never commit: whoever opens the transaction owns it."""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hub.settings import Settings

log = logging.getLogger(__name__)
# `Session.info` key: the transaction erased data; on SQLite the WAL is emptied after it commits
PURGE_INFO = "hub.db.purge_after_commit"
# `Session.info` key: (the transaction, what it keeps for itself alone: `transaction_scoped`)
SCOPED_INFO = "hub.db.transaction_scoped"
# the SQLite file (and so its -wal and -shm): the hub's own user only
PRIVATE_FILE = 0o600


def make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _private_sqlite_file(make_url(url).database)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN handling defers it; take the write lock at BEGIN instead so
        # read-then-write transactions (the audit head) serialise rather than fail.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _private_sqlite_file(database: str | None) -> None:
    """Create the SQLite file 0600 before SQLite does (it would follow the umask: 0644), and
    take group and other rights off one an older hub left readable. SQLite gives its -wal and
    -shm the database file's mode when it creates them; existing ones are tightened too."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    except FileNotFoundError:
        return  # no such folder: SQLite says so at the first connection (`/readyz`)
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            file.chmod(mode & 0o700)
            log.warning("database file was readable by others: now 0600", extra={"file": file.name})


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.isolation_level = None  # let the "begin" listener issue BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    # crypto-shredding deletes a wrapped data key: make sure its bytes are overwritten too
    # (and the freed pages zeroed; the WAL is emptied after an erasure: `purge_after_commit`)
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
    # what PostgreSQL has built in (`encode(sha256(...), 'hex')`): the audit chain's appends
    dbapi_conn.create_function("hub_sha256", 1, _sha256_hex, deterministic=True)


def _sha256_hex(value: str | None) -> str | None:
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


def make_sessionmaker(
    engine: Engine, *, info: Mapping[str, Any] | None = None
) -> sessionmaker[Session]:
    """Sessions of `engine`; `info` is copied into each (the keyring binding, say)."""
    sessions = sessionmaker(
        bind=engine, expire_on_commit=False, autoflush=True, info=dict(info or {})
    )
    event.listen(sessions, "after_commit", _purge_wal)
    event.listen(sessions, "after_rollback", _forget_purge)
    event.listen(sessions, "after_transaction_end", _forget_scoped)
    return sessions


def transaction_scoped(db: Session, name: str) -> dict[str, Any]:
    """The dict `name` of `db`'s current transaction: a new transaction starts it empty (another
    may have changed what it held since), and it is dropped as the transaction ends (in sessions
    of `make_sessionmaker`), so what it holds (plaintext read for this transaction) is not kept
    after it."""
    transaction = db.get_transaction()
    held = db.info.get(SCOPED_INFO)
    if held is None or held[0] is not transaction:
        held = db.info[SCOPED_INFO] = (transaction, {})
    scoped: dict[str, dict[str, Any]] = held[1]
    found = scoped.get(name)
    if found is None:
        found = scoped[name] = {}
    return found


def _forget_scoped(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(SCOPED_INFO, None)


def purge_after_commit(db: Session) -> None:
    """Ask for the SQLite WAL to be checkpointed and truncated once this transaction commits.

    Defence in depth for erasure: the deleted rows' old page images (a wrapped data key among
    them) otherwise stay in `hub.sqlite3-wal` until it is next reused. PostgreSQL keeps dead
    row versions and WAL of its own; there the KEK retirement is what makes them useless.
    """
    db.info[PURGE_INFO] = True


def _purge_wal(session: Session) -> None:
    if not session.info.pop(PURGE_INFO, False):
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        # outside any transaction (the connection is in autocommit: no BEGIN is issued)
        busy, _, _ = raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning("the WAL could not be emptied after an erasure: a reader held it")
    except sqlite3.Error as exc:
        log.warning("the WAL could not be emptied after an erasure: %s", type(exc).__name__)
    finally:
        raw.close()


def _forget_purge(session: Session) -> None:
    session.info.pop(PURGE_INFO, None)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with sessions.begin() as db:
        yield db
