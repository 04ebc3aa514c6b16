"""Fixtures: a real database per test (SQLite by default, PostgreSQL in CI), real keys.

`HUB_TEST_DATABASE_URL` (a PostgreSQL server URL) and `HUB_TEST_BROKER_URL` (e.g. a Redis URL)
switch the suite to those services; without them it runs on SQLite and the filesystem broker.

The suite runs under pytest-xdist (`-n`): each worker process migrates a template database of
its own (named by its pid) and, on Redis, uses a Redis database of its own (below the one
`HUB_TEST_BROKER_URL` names, one per worker), so no two workers share a row, a queue or a file.

Shared fixtures come from plugins: `tests.support.workers` (real `hub worker` processes),
`tests.support.worlds` (the referral world, `world`, which tests/transfers and tests/consent
replace with theirs) and `tests.support.live_hub` (the app on a real port with a probe route:
`start_live`, `live`, `move_clock`, for tests/auth and tests/access).
"""

from __future__ import annotations

import gc
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.app import bind, build
from hub.clock import clock
from hub.db import migrate
from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from tests.support.browser import MARKUP_LEFT, SHOTS
from tests.support.documents import share_document
from tests.support.hashing import cheap_hashing
from tests.support.passes import DATABASE_TESTS_ONLY, PG_URL
from tests.support.pg_pool import DatabasePool

pytest_plugins = ["tests.support.workers", "tests.support.worlds", "tests.support.live_hub"]

REDIS_DATABASES = 16  # Redis's default `databases`


def _worker_number() -> int:
    """0 outside pytest-xdist, else the worker's number (`PYTEST_XDIST_WORKER` is "gw<n>")."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def _worker_broker_url(url: str) -> str:
    """`url` with a Redis database of this worker's own: a message one worker's test queues is
    never taken by another worker's `hub worker` (per-test key prefixes keep tests apart too)."""
    if not url.startswith(("redis://", "rediss://")) or _worker_number() == 0:
        return url
    parts = urlsplit(url)
    first = int(parts.path.lstrip("/") or 0)
    number = (first - _worker_number()) % REDIS_DATABASES
    return urlunsplit(parts._replace(path=f"/{number}"))


BROKER_URL = _worker_broker_url(os.environ.get("HUB_TEST_BROKER_URL", ""))
# every connection to a test's database, the hub subprocesses' too (the URL carries it): a
# commit returns without waiting for the server to flush its WAL to disk. What other
# connections see, and when, is unchanged; only a crash of the server could lose the last
# commits, and a test's database lives for one test.
PG_TEST_OPTIONS = {"options": "-c synchronous_commit=off"}
# the pid keeps two runs on one server apart, and each xdist worker is a process of its own
TEMPLATE_DB = f"hub_test_template_{os.getpid()}"


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


# -- the run's temporary folders in memory
MEMORY_FOLDER = Path("/dev/shm")  # Linux tmpfs (mode 1777); pytest makes its dirs 0700
# a container's default /dev/shm is 64 MB, which a run's databases and Chromium would fill
MEMORY_FOLDER_MIN_FREE = 2 * 1024**3


def pytest_configure(config: pytest.Config) -> None:
    """Each test's data folder and SQLite database go in memory when the machine has a tmpfs.

    The hub writes them as in production: SQLite in WAL mode syncs every commit to disk, the
    keyring and the audit key are synced when written. On a disk shared by parallel runs each
    sync was tens of milliseconds, a dozen of them in a test that builds a world. On tmpfs the
    same calls return at once; nothing the tests see changes (file modes, locks, WAL files).
    pytest's own numbered folders are used (`PYTEST_DEBUG_TEMPROOT`), so concurrent runs stay
    apart, and pyproject keeps only the folders of tests that failed (memory stays small).
    An explicit `--basetemp` or `PYTEST_DEBUG_TEMPROOT` wins.
    """
    if "PYTEST_DEBUG_TEMPROOT" in os.environ or config.option.basetemp:
        return
    if not (MEMORY_FOLDER.is_dir() and os.access(MEMORY_FOLDER, os.W_OK | os.X_OK)):
        return
    if shutil.disk_usage(MEMORY_FOLDER).free >= MEMORY_FOLDER_MIN_FREE:
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(MEMORY_FOLDER)


# -- the run's screenshots (tests/console): named at the end, also when xdist workers took them
_WORKER_SHOTS = "hub_screenshots"
_WORKER_MARKUP_LEFT = "hub_markup_left"


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_SHOTS] = [str(p) for p in session.config.stash.get(SHOTS, [])]
        workeroutput[_WORKER_MARKUP_LEFT] = session.config.stash.get(MARKUP_LEFT, [])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    output = getattr(node, "workeroutput", {})
    shots = output.get(_WORKER_SHOTS, [])
    node.config.stash.setdefault(SHOTS, []).extend(Path(p) for p in shots)
    node.config.stash.setdefault(MARKUP_LEFT, []).extend(output.get(_WORKER_MARKUP_LEFT, []))


def pytest_collection_finish(session: pytest.Session) -> None:
    """What importing the suite made (the hub, the libraries, every test module) lives until
    the process ends: frozen out of the collector's reach, a full collection no longer walks it
    again and again (about a second of CPU each in a worker that imported everything)."""
    gc.collect()
    gc.freeze()


# -- a second pass on another database runs only the tests a database can change
_LEFT_OUT = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With HUB_TEST_DATABASE_ONLY=1, leave out every test that does not use `database_template`,
    and a test's repeats in the console's other languages (`_language_repeats`).

    Whatever a test gets of the pass's database or broker comes through that fixture (PG_URL and
    BROKER_URL reach tests only through `database_url` and `settings`; the `HUB_TEST_*`
    variables are no settings of the hub, so a `hub` subprocess never reads them). A test
    without it runs the same code on the same inputs in either pass: policy files, vocabularies,
    address checks, the CLI on a SQLite data folder of its own, the browser harness. Running it
    again on PostgreSQL asserts nothing the SQLite pass did not.
    """
    if not DATABASE_TESTS_ONLY:
        return
    in_other_languages = _language_repeats(items)
    kept, left_out = [], []
    for item in items:
        uses_a_database = "database_template" in getattr(item, "fixturenames", ())
        runs_here = uses_a_database and item not in in_other_languages
        (kept if runs_here else left_out).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
    config.stash[_LEFT_OUT] = len(left_out)


# the parameters by which a test repeats itself in another language of the console
_LANGUAGE_PARAMETERS = ("language", "locale")


def _language_repeats(items: list[pytest.Item]) -> set[pytest.Item]:
    """The repeats of a test in a language other than the first it is run in.

    A test parametrized by the console's language walks the same pages, with the same requests
    and the same rows, in each language; only the words of the templates change, and those come
    from the message catalogues, not from the database. The PostgreSQL pass runs such a test in
    its first language; the SQLite pass runs every language.
    """
    first: dict[tuple[str, str], object] = {}
    repeats: set[pytest.Item] = set()
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        for name in _LANGUAGE_PARAMETERS:
            if name not in params:
                continue
            key = (f"{item.path}::{getattr(item, 'originalname', item.name)}", name)
            if first.setdefault(key, params[name]) != params[name]:
                repeats.add(item)
    return repeats


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if DATABASE_TESTS_ONLY:
        # under pytest-xdist the workers collect, and this process knows no count
        left_out = config.stash.get(_LEFT_OUT, None)
        count = "" if left_out is None else f"{left_out} "
        terminalreporter.write_line(
            f"HUB_TEST_DATABASE_ONLY=1: the {count}tests that use no database, or repeat a test "
            "in another language, were left out (the SQLite pass runs them)"
        )
    left = config.stash.get(MARKUP_LEFT, [])
    if left:
        terminalreporter.write_line(
            f"HUB_TEST_DATABASE_ONLY=1: {len(left)} axe-core checks and screenshots were left to "
            "the SQLite pass (tests/support/browser.py, MARKUP_JUDGED_IN_SQLITE_PASS)"
        )
    shots = config.stash.get(SHOTS, [])
    if shots:
        terminalreporter.write_line(f"console screenshots: {shots[0].parent} ({len(shots)} files)")


@pytest.fixture(scope="session", autouse=True)
def _cheap_argon2() -> Iterator[None]:
    """argon2 at its lowest cost in this process (tests/support/hashing.py says why it is safe)."""
    with cheap_hashing():
        yield


@pytest.fixture(autouse=True)
def _wall_clock() -> Iterator[None]:
    """Every test starts and ends on the real clock, whatever it moved."""
    clock.reset()
    yield
    clock.reset()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database made once; each test gets a copy of it."""
    if PG_URL:
        admin = _admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"'))
            conn.execute(text(f'CREATE DATABASE "{TEMPLATE_DB}"'))
        url = make_url(PG_URL).set(database=TEMPLATE_DB).render_as_string(hide_password=False)
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield TEMPLATE_DB
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        engine = create_engine(f"sqlite:///{path}")
        migrate.upgrade(engine)
        engine.dispose()
        yield str(path)


@pytest.fixture(scope="session")
def _database_pool(database_template: str) -> Iterator[DatabasePool | None]:
    """On PostgreSQL, the copies of the template, made and dropped off the tests' path."""
    if not PG_URL:
        yield None
        return
    pool = DatabasePool(make_url(PG_URL).set(database="postgres"), database_template)
    yield pool
    pool.close()


# the PostgreSQL databases a test took, given back once all of its fixtures are torn down
_TAKEN = pytest.StashKey[list[tuple[DatabasePool, str]]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """The pool empties a database for the next test (tests/support/pg_pool.py) only after every
    fixture of this one is gone: the servers and `hub` processes it started no longer run."""
    try:
        return (yield)
    finally:
        for pool, name in item.stash.get(_TAKEN, []):
            pool.give_back(name)
        item.stash[_TAKEN] = []


@pytest.fixture
def database_url(
    database_template: str,
    _database_pool: DatabasePool | None,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[str]:
    if _database_pool is not None:
        name = _database_pool.take()
        request.node.stash.setdefault(_TAKEN, []).append((_database_pool, name))
        url = make_url(PG_URL).set(database=name).update_query_dict(PG_TEST_OPTIONS)
        yield url.render_as_string(hide_password=False)
    else:
        path = tmp_path / "hub.sqlite3"
        shutil.copyfile(database_template, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    return load_settings(
        data_dir=data_dir,
        database_url=database_url,
        broker_url=BROKER_URL or None,
        # tests run the outbox themselves (`tests.support.outbox_drain`) or through the
        # dispatcher; tests/outbox checks dispatch on commit on its own
        outbox_dispatch_on_commit=False,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    yield rt
    rt.dispose()


@pytest.fixture(scope="session")
def _app() -> FastAPI:
    """The process's one app (`hub.app.build`): each test binds its runtime to it. FastAPI
    works out every route's parameters and models once per app, which took more CPU than
    most tests' own requests when each test made an app of its own. Its OpenAPI document is
    made once per runtime's vocabularies too (tests/support/documents.py)."""
    app = build()
    share_document(app)
    return app


@pytest.fixture
def api(runtime: Runtime, _app: FastAPI) -> Iterator[TestClient]:
    with TestClient(bind(_app, runtime)) as client:
        yield client
