"""The SQLite database holds sealed personal data and the wrapped keys beside it: its file, and
its -wal and -shm, are readable by the hub's own user only (0600), whatever the umask, and
also when the data folder already exists."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.db.session import make_engine
from hub.settings import load_settings


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _write(data_dir: Path, database_url: str = "") -> None:
    engine = make_engine(load_settings(data_dir=data_dir, database_url=database_url))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS t (x TEXT)"))
            conn.execute(text("INSERT INTO t VALUES ('Aicha')"))
        with engine.connect() as conn:
            # the -wal and -shm exist while a connection is open
            for suffix in ("", "-wal", "-shm"):
                path = data_dir / f"hub.sqlite3{suffix}"
                assert path.exists(), suffix
                assert _mode(path) == 0o600, (suffix, oct(_mode(path)))
            conn.execute(text("SELECT count(*) FROM t"))
    finally:
        engine.dispose()


@pytest.mark.usefixtures("open_umask")
def test_created_0600_in_an_existing_data_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)  # made by an operator, before the hub
    _write(data_dir)


@pytest.mark.usefixtures("open_umask")
def test_created_0600_in_a_new_data_folder_and_at_an_explicit_url(tmp_path: Path) -> None:
    _write(tmp_path / "new")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _write(elsewhere, f"sqlite:///{elsewhere / 'hub.sqlite3'}")


@pytest.mark.usefixtures("open_umask")
def test_a_file_left_readable_by_an_older_hub_is_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"hub.sqlite3{suffix}").touch(mode=0o644)
    os.remove(data_dir / "hub.sqlite3-wal")
    os.remove(data_dir / "hub.sqlite3-shm")
    assert _mode(data_dir / "hub.sqlite3") == 0o644
    _write(data_dir)
