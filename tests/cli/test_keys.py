"""`hub keys rotate` against the test's database and data folder: once as the real installed
command in a subprocess, the other cases in-process through the same typer app (faster)."""

import base64
import json
import os
import subprocess

from sqlalchemy import select
from typer.testing import CliRunner

from hub.audit.models import AuditEntry
from hub.cases import service as cases
from hub.cases.schemas import Subject
from hub.cli.main import app
from hub.crypto.keyring import EnvKeyring, FileKeyring
from hub.crypto.models import DataKey
from hub.runtime import Runtime
from hub.settings import Settings
from tests.cases.conftest import Orgs, new_case
from tests.support.cli import hub_env, run_hub
from tests.support.factories import org


def hub_in_process(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The same command line, run in this process (with only the test's HUB_ variables)."""
    full_env = hub_env(settings, **env)
    hub_vars = {k: v for k, v in full_env.items() if k.startswith("HUB_")}
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HUB_")}
    result = CliRunner().invoke(app, list(args), env={**unset, **hub_vars})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def one_json(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def kek_versions(runtime: Runtime) -> list[int]:
    with runtime.sessions() as db:
        return list(db.scalars(select(DataKey.kek_version).order_by(DataKey.owner)))


def orgs_of(runtime: Runtime) -> Orgs:
    with runtime.sessions.begin() as db:
        return Orgs(
            owner=org(db, runtime.policy, "IOM Agadez", kind="iom_office").id,
            other=org(db, runtime.policy, "Partner NGO").id,
        )


def test_rotate_with_the_file_keyring(settings: Settings, runtime: Runtime) -> None:
    orgs = orgs_of(runtime)
    first = new_case(runtime, orgs.owner, "REF-1")
    new_case(runtime, orgs.owner, "REF-2")
    keyring = runtime.keyring
    assert isinstance(keyring, FileKeyring) and keyring.current_version == 1

    out = one_json(run_hub(settings, "keys", "rotate", "--json"))
    assert out == {
        "provider": "file",
        "kek_version": 2,
        "added_version": True,
        "rewrapped": 2,
        "data_keys": 2,
    }
    assert kek_versions(runtime) == [2, 2]
    path = settings.data_dir / "keyring.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # this process's keyring reads the version the command added, and the data still opens
    assert keyring.current_version == 2
    with runtime.sessions() as db:
        found = cases.get(db=db, case_id=first.id, organization_id=orgs.owner)
        assert cases.read(db=db, keyring=keyring, case=found).data["identity"]["given_name"]
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "keys.rotated")).one()
        assert entry.details == {
            "provider": "file",
            "kek_version": 2,
            "added_version": True,
            "rewrapped": 2,
        }

    text = hub_in_process(settings, "keys", "rotate")
    assert text.returncode == 0, text.stderr
    assert "version 3 (new)" in text.stdout and "rewrapped 2 data keys" in text.stdout
    assert kek_versions(runtime) == [3, 3]
    assert FileKeyring(path).versions() == [1, 2, 3]


def test_rotate_with_keys_from_the_environment(settings: Settings, runtime: Runtime) -> None:
    k1, k2 = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    orgs = orgs_of(runtime)
    before = EnvKeyring.parse(f"1:{k1}")
    with runtime.sessions.begin() as db:
        case = cases.create(
            db=db,
            keyring=before,
            policy=runtime.policy,
            actor="test",
            owner_organization_id=orgs.owner,
            external_ref="ENV-1",
            subject=Subject.model_validate({"birth_date": "1990-01-01", "sex": "male"}),
            data={"identity": {"given_name": "Ibrahim"}},
        )
    env = {"HUB_KEK_PROVIDER": "env"}

    same = hub_in_process(settings, "keys", "rotate", HUB_KEK_KEYS=f"1:{k1}", **env)
    assert same.returncode == 0, same.stderr
    assert "rewrapped 0" in same.stdout and "add a higher version" in same.stderr

    out = one_json(
        hub_in_process(settings, "keys", "rotate", "--json", HUB_KEK_KEYS=f"1:{k1},2:{k2}", **env)
    )
    assert out["provider"] == "env" and out["added_version"] is False
    assert (out["kek_version"], out["rewrapped"]) == (2, 1)
    assert kek_versions(runtime) == [2]
    with runtime.sessions() as db:
        found = cases.get(db=db, case_id=case.id, organization_id=orgs.owner)
        # version 1 can now leave the environment
        after = EnvKeyring.parse(f"2:{k2}")
        assert cases.read_data(db=db, keyring=after, case=found) == {
            "identity": {"given_name": "Ibrahim"}
        }
    assert not (settings.data_dir / "keyring.json").exists()


def test_malformed_environment_keys_stop_with_a_clear_message(settings: Settings) -> None:
    secret = base64.b64encode(b"x" * 20).decode()
    result = hub_in_process(
        settings, "keys", "rotate", HUB_KEK_PROVIDER="env", HUB_KEK_KEYS=f"1:{secret}"
    )
    assert result.returncode == 2
    assert "HUB_KEK_KEYS" in result.stderr and "20 bytes" in result.stderr
    assert secret not in result.stderr + result.stdout
