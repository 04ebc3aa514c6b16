"""`hub audit ...`: the real command in a subprocess for verify, in-process for the rest."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from hub.audit.signing import public_pem
from hub.cli.main import app
from hub.runtime import Runtime
from hub.settings import Settings
from tests.audit.tamper import (
    build_chain,
    delete_checkpoints,
    rewrite_from,
    rows,
    sql,
    wait_past_stale,
)
from tests.support.cli import run_command


def run_hub(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(settings.data_dir), HUB_DATABASE_URL=settings.sqlalchemy_url)
    return run_command(list(args), env, timeout=120)


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in [k for k in os.environ if k.startswith("HUB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HUB_DATABASE_URL", settings.sqlalchemy_url)
    return CliRunner()


def test_verify_command_exits_0_when_intact_and_1_naming_the_broken_entry(
    runtime: Runtime, settings: Settings
) -> None:
    build_chain(runtime, 8, checkpoints_at=[5])
    ok = run_hub(settings, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "intact: 8 entries" in ok.stdout and "1 signed checkpoints" in ok.stdout
    assert "entries 6 to 8 are not yet under a signed checkpoint" in ok.stdout

    sql(runtime, "DELETE FROM audit_entries WHERE seq = 3")
    broken = run_hub(settings, "audit", "verify")
    assert broken.returncode == 1, broken.stderr
    assert "BROKEN at entry 3: entry_missing" in broken.stdout


def test_verify_json_prints_one_object(runtime: Runtime, cli: CliRunner) -> None:
    build_chain(runtime, 4, checkpoints_at=[4])
    result = cli.invoke(app, ["audit", "verify", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["entries"] == 4 and report["checkpointed_seq"] == 4

    sql(runtime, "UPDATE audit_entries SET object_id = 'r9999' WHERE seq = 2")
    result = cli.invoke(app, ["audit", "verify", "--json"])
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    report = json.loads(line)
    assert report["ok"] is False
    assert (report["first_broken_seq"], report["reason"]) == (2, "hash_mismatch")


def test_checkpoint_then_verify_with_the_exported_public_key_only(
    runtime: Runtime, cli: CliRunner, tmp_path: Path
) -> None:
    build_chain(runtime, 3)
    made = cli.invoke(app, ["audit", "checkpoint", "--json"])
    assert made.exit_code == 0, made.output
    cp = json.loads(made.stdout)
    assert cp["created"] is True and cp["seq"] == 3
    assert cp["key_id"] == runtime.audit_key.key_id
    again = cli.invoke(app, ["audit", "checkpoint", "--json"])
    assert json.loads(again.stdout) == {"created": False}

    pem = cli.invoke(app, ["audit", "public-key"])
    assert pem.exit_code == 0 and pem.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in pem.stdout
    exported = tmp_path / "audit.pub"
    exported.write_text(pem.stdout)
    result = cli.invoke(app, ["audit", "verify", "--public-key", str(exported)])
    assert result.exit_code == 0, result.output

    other = tmp_path / "other.pub"
    other.write_text(public_pem(Ed25519PrivateKey.generate().public_key()))
    result = cli.invoke(app, ["audit", "verify", "--public-key", str(other)])
    assert result.exit_code == 1
    assert "BROKEN at entry 3: checkpoint_unknown_key" in result.stdout


def test_checkpoint_command_refuses_over_a_broken_chain(runtime: Runtime, cli: CliRunner) -> None:
    build_chain(runtime, 3)
    sql(runtime, "UPDATE audit_entries SET action = 'x' WHERE seq = 2")
    result = cli.invoke(app, ["audit", "checkpoint"])
    assert result.exit_code == 1
    assert "refused to sign" in result.stderr and "entry 2" in result.stderr


def test_public_key_json(runtime: Runtime, cli: CliRunner) -> None:
    result = cli.invoke(app, ["audit", "public-key", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc == {
        "key_id": runtime.audit_key.key_id,
        "public_key_pem": runtime.audit_key.public_pem,
    }


def test_loose_key_file_stops_the_command_with_a_clear_message(
    runtime: Runtime, cli: CliRunner, settings: Settings
) -> None:
    key_file = settings.data_dir / "audit_signing_key.pem"
    runtime.audit_key  # noqa: B018 - creates the key file
    key_file.chmod(0o640)
    result = cli.invoke(app, ["audit", "checkpoint"])
    assert result.exit_code == 2
    assert str(key_file) in result.stderr and "0640" in result.stderr


def test_verify_expect_fails_naming_the_sequence_number(
    runtime: Runtime, settings: Settings
) -> None:
    build_chain(runtime, 8, checkpoints_at=[4, 8])
    (row6,) = rows(runtime, "seq = 6")
    ok = run_hub(settings, "audit", "verify", "--expect", f"6:{row6.hash}")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "1 outside checkpoints matched" in ok.stdout

    rewrite_from(runtime, 3, actor="client:9")
    delete_checkpoints(runtime)
    broken = run_hub(
        settings,
        "audit",
        "verify",
        "--expect",
        f"2:{rows(runtime, 'seq = 2')[0].hash}",
        "--expect",
        f"6:{row6.hash}",
    )
    assert broken.returncode == 1, broken.stderr
    assert "BROKEN at entry 6: expectation_mismatch" in broken.stdout
    assert "names entry 6" in broken.stdout


def test_verify_expect_json_prints_one_object(runtime: Runtime, cli: CliRunner) -> None:
    build_chain(runtime, 5)
    result = cli.invoke(app, ["audit", "verify", "--json", "--expect", f"9:{'a' * 64}"])
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    report = json.loads(line)
    assert (report["ok"], report["first_broken_seq"], report["reason"]) == (
        False,
        9,
        "expectation_mismatch",
    )
    assert "no such entry" in report["detail"] and report["expectations"] == 1


@pytest.mark.parametrize("bad", ["12", "x:" + "a" * 64, "3:abc", "3:" + "g" * 64])
def test_verify_expect_malformed_is_a_usage_error(cli: CliRunner, bad: str) -> None:
    result = cli.invoke(app, ["audit", "verify", "--expect", bad])
    assert result.exit_code == 2
    assert "SEQ:HASH" in result.stderr


def test_verify_checks_the_signers_own_record(runtime: Runtime, cli: CliRunner) -> None:
    build_chain(runtime, 4)
    made = cli.invoke(app, ["audit", "checkpoint", "--json"])
    assert json.loads(made.stdout)["seq"] == 4
    build_chain(runtime, 2)
    # within the allowed delay, with every checkpoint gone: only the record outside tells
    rewrite_from(runtime, 2, actor="client:9")
    delete_checkpoints(runtime)
    result = cli.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 4: expectation_mismatch" in result.stdout


def test_verify_stale_limit_can_be_set(runtime: Runtime, cli: CliRunner) -> None:
    build_chain(runtime, 3)
    wait_past_stale(runtime)
    result = cli.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "checkpoint_stale" in result.stdout
    result = cli.invoke(app, ["audit", "verify", "--stale-after-intervals", "0"])
    assert result.exit_code == 0, result.output
