"""The command-line contract: `--json` prints exactly one JSON object; errors exit non-zero."""

import json

from sqlalchemy import select

from hub.organizations.models import DataSharingAgreement, Organization
from hub.runtime import Runtime
from hub.settings import Settings
from hub.users.models import User
from tests.support.cli import run_hub


def _json(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


def test_orgs_agreements_and_users_from_the_command_line(
    settings: Settings, runtime: Runtime
) -> None:
    country = _json(
        run_hub(settings, "orgs", "add", "--name", "IOM Niger", "--kind", "iom_office", "--json")
    )
    sub = _json(
        run_hub(
            settings,
            "orgs",
            "add",
            "--name",
            "IOM Agadez",
            "--kind",
            "iom_office",
            "--parent",
            country["id"],
            "--json",
        )
    )
    ngo = _json(
        run_hub(
            settings,
            "orgs",
            "add",
            "--name",
            "Terre d'accueil",
            "--kind",
            "ngo",
            "--services",
            "psychosocial_support shelter",
            "--json",
        )
    )
    agreement = _json(
        run_hub(
            settings,
            "agreements",
            "add",
            "--from",
            sub["id"],
            "--to",
            ngo["id"],
            "--purposes",
            "psychosocial_support",
            "--categories",
            "identity contact psychosocial",
            "--json",
        )
    )
    user = _json(
        run_hub(
            settings,
            "users",
            "add",
            "--org",
            country["id"],
            "--email",
            "officer@iom.int",
            "--role",
            "consent_officer",
            "--json",
            stdin="a long enough password\n",
        )
    )
    listed = _json(run_hub(settings, "orgs", "list", "--json"))

    assert sub["parent_id"] == country["id"]
    assert {o["id"] for o in listed["items"]} == {country["id"], sub["id"], ngo["id"]}
    with runtime.sessions() as db:
        stored = db.get(Organization, ngo["id"])
        assert stored is not None
        assert stored.services == ["psychosocial_support", "shelter"]
        dsa = db.get(DataSharingAgreement, agreement["id"])
        assert dsa is not None
        assert dsa.categories == ["contact", "identity", "psychosocial"]
        stored_user = db.scalar(select(User).where(User.id == user["id"]))
        assert stored_user is not None
        assert "a long enough password" not in stored_user.password_hash


def test_refusals_exit_non_zero_with_a_message_and_write_nothing(
    settings: Settings, runtime: Runtime
) -> None:
    bad_kind = run_hub(settings, "orgs", "add", "--name", "X", "--kind", "bank", "--json")
    orphan = run_hub(
        settings,
        "orgs",
        "add",
        "--name",
        "Y",
        "--kind",
        "iom_office",
        "--parent",
        "missing",
        "--json",
    )
    weak = run_hub(
        settings,
        "users",
        "add",
        "--org",
        "missing",
        "--email",
        "a@b.org",
        "--role",
        "admin",
        stdin="short\n",
    )
    assert bad_kind.returncode == 1 and "bank" not in bad_kind.stderr
    assert "organization_kinds (" in bad_kind.stderr and "ngo" in bad_kind.stderr
    assert orphan.returncode == 1 and "not found" in orphan.stderr.lower()
    assert weak.returncode == 1 and "password" in weak.stderr
    assert bad_kind.stdout == orphan.stdout == ""
    with runtime.sessions() as db:
        assert db.query(Organization).count() == 0


def test_invalid_settings_name_the_variable(settings: Settings) -> None:
    result = run_hub(settings, "orgs", "list", HUB_KEK_PROVIDER="vault")
    assert result.returncode == 2
    assert "HUB_KEK_PROVIDER" in result.stderr


def test_the_operator_from_the_command_line(settings: Settings, runtime: Runtime) -> None:
    ops = _json(
        run_hub(settings, "orgs", "add", "--name", "Hub operations", "--operator", "--json")
    )
    assert ops["kind"] == "hub_operator"
    admin = _json(
        run_hub(settings, "clients", "add", "--org", ops["id"], "--scopes", "admin", "--json")
    )
    assert admin["scope"] == "admin" and admin["client_secret"]
    ngo = _json(run_hub(settings, "orgs", "add", "--name", "NGO", "--kind", "ngo", "--json"))
    refused = run_hub(settings, "clients", "add", "--org", ngo["id"], "--scopes", "admin", "--json")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "admin" in refused.stderr
    both = run_hub(settings, "orgs", "add", "--name", "X", "--operator", "--kind", "ngo")
    assert both.returncode == 2 and "--operator" in both.stderr
    listed = run_hub(settings, "orgs", "list", "--json")
    assert {o["kind"] for o in json.loads(listed.stdout)["items"]} == {"hub_operator", "ngo"}
