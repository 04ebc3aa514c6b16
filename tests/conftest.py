"""Fixtures: a real database per test (SQLite by default, PostgreSQL in CI), real keys.

`HUB_TEST_DATABASE_URL` (a PostgreSQL server URL) and `HUB_TEST_BROKER_URL` (e.g. a Redis URL)
switch the suite to those services; without them it runs on SQLite and the filesystem broker.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.app import create_app
from hub.clock import clock
from hub.db import migrate
from hub.runtime import Runtime
from hub.settings import Settings, load_settings

PG_URL = os.environ.get("HUB_TEST_DATABASE_URL", "")
BROKER_URL = os.environ.get("HUB_TEST_BROKER_URL", "")
TEMPLATE_DB = f"hub_test_template_{os.getpid()}"


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


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


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        name = f"hub_test_{uuid.uuid4().hex[:12]}"
        admin = _admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{database_template}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
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


@pytest.fixture
def api(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as client:
        yield client
