"""/healthz is liveness only; /readyz needs the database and the broker, and names what failed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from tests.support.probe import probe_client

PASSWORD = "pw-canary-91c2"


@pytest.fixture
def make_runtime(settings: Settings) -> Iterator:  # type: ignore[type-arg]
    made: list[Runtime] = []

    def make(**overrides: object) -> Runtime:
        rt = Runtime(load_settings(**{**settings.model_dump(), **overrides}))
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.dispose()


def test_ready_when_database_and_broker_answer(runtime: Runtime) -> None:
    response = probe_client(runtime).get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("status", "database", "broker")} == {
        "status": "ready",
        "database": "ok",
        "broker": "ok",
    }
    # the audit checkpoint is a detail (tests/ops/test_checkpoint.py)
    assert body["audit_checkpoint"]["status"] in ("none", "ok")


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://hub:{PASSWORD}@127.0.0.1:1/hub?connect_timeout=2",
        "sqlite:///{tmp}/no/such/folder/hub.sqlite3",
    ],
    ids=["closed-port", "missing-file"],
)
def test_not_ready_without_the_database(
    make_runtime, tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    client = probe_client(make_runtime(database_url=url.format(tmp=tmp_path)))
    capsys.readouterr()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["failed"] == ["database"]
    assert "database" in body["detail"]
    logs = capsys.readouterr().err
    for secret in (PASSWORD, "127.0.0.1:1", "no/such/folder"):
        assert secret not in response.text
        assert secret not in logs
    # liveness does not depend on the database
    assert client.get("/healthz").status_code == 200


def test_not_ready_without_the_broker(make_runtime, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    client = probe_client(make_runtime(broker_url=f"redis://:{PASSWORD}@127.0.0.1:1/0"))
    capsys.readouterr()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "not_ready"
    assert response.json()["failed"] == ["broker"]
    logs = capsys.readouterr().err
    assert PASSWORD not in response.text and PASSWORD not in logs
    assert '"check": "broker"' in logs


def test_not_ready_when_the_embedded_broker_folder_cannot_be_written(
    make_runtime, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "blocked"
    data_dir.mkdir()
    (data_dir / "broker").write_text("a file where the broker folder should be")
    rt = make_runtime(data_dir=data_dir, broker_url=None)
    response = probe_client(rt).get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_embedded_broker_is_ready_on_a_fresh_data_folder(make_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rt = make_runtime(data_dir=tmp_path / "fresh", broker_url=None)
    assert probe_client(rt).get("/readyz").status_code == 200
