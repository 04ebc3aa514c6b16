"""Copies of the migrated template database, made ahead of the tests and dropped behind them.

On PostgreSQL every test gets a database of its own, made from the template and dropped after
it. Each of those statements waits for the server to write the database out (a drop waits for
a checkpoint): a second or more on a busy disk, once in the test's set-up and once in its
teardown. A thread of the test process makes the next copies while a test runs and drops the
used ones afterwards, so the tests no longer wait for it. Each test still gets a fresh copy of
the template that nothing else has touched, and nothing is left on the server at the end.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

# copies kept ready: one for the next test, one for a test that follows at once
AHEAD = 2
# a copy is made in well under a second; this long means the server is stuck or gone
TAKE_TIMEOUT = 120.0


class DatabasePool:
    """`take()` a fresh copy of `template`, `give_back(name)` once the test is done with it."""

    def __init__(self, admin_url: URL, template: str) -> None:
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._template = template
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
                        f"no copy of {self._template} was made within {TAKE_TIMEOUT:.0f} s"
                    ) from None

    def give_back(self, name: str) -> None:
        self._used.put(name)

    def close(self) -> None:
        """Stop making copies and drop every one left, ready or used."""
        self._stop.set()
        self._thread.join(timeout=TAKE_TIMEOUT)
        for pending in (self._ready, self._used):
            while not pending.empty():
                self._drop(pending.get_nowait())
        self._admin.dispose()
        if self._error is not None:
            raise RuntimeError("the database pool failed") from self._error

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                # a test may be waiting for a copy: that comes before the cleaning up
                if self._ready.qsize() < AHEAD:
                    self._ready.put(self._create())
                    continue
                try:
                    used = self._used.get(timeout=0.02)
                except queue.Empty:
                    continue
                self._drop(used)
            except BaseException as error:  # reported by take() and close()
                self._error = error
                return

    def _create(self) -> str:
        name = f"hub_test_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"'))
        return name

    def _drop(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
