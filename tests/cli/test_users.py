"""`hub users list | disable | enable | reset-password`, run as the real command."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.runtime import Runtime
from hub.settings import Settings
from hub.users import service, sessions
from hub.users.models import User
from tests.support.cli import run_hub
from tests.support.factories import org

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


def _people(runtime: Runtime) -> tuple[str, str, str]:
    """(organisation id, a case worker's id, an officer's id in another organisation)."""
    with runtime.sessions.begin() as db:
        office = org(db, runtime.policy, "IOM Niamey", kind="iom_office")
        ngo = org(db, runtime.policy, "Terre d'accueil")
        worker = service.create(
            db=db,
            actor="t",
            organization_id=office.id,
            email="worker@iom.example.org",
            password=PASSWORD,
            role="case_worker",
        )
        officer = service.create(
            db=db,
            actor="t",
            organization_id=ngo.id,
            email="officer@ngo.example.org",
            password=PASSWORD,
            role="consent_officer",
        )
        return office.id, worker.id, officer.id


def _open_session(runtime: Runtime, user_id: str) -> str:
    with runtime.sessions.begin() as db:
        user = db.get(User, user_id)
        assert user is not None
        return sessions.create(db=db, settings=runtime.settings, user=user)[0]


def _alive(runtime: Runtime, token: str) -> bool:
    with runtime.sessions.begin() as db:
        return sessions.resolve(db=db, settings=runtime.settings, token=token) is not None


def _actions(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.sessions() as db:
        return [(e.action, e.actor) for e in db.scalars(select(AuditEntry))]


def test_list_shows_people_and_their_state(settings: Settings, runtime: Runtime) -> None:
    office, worker, officer = _people(runtime)
    with runtime.sessions.begin() as db:
        user = db.get(User, officer)
        assert user is not None
        user.failed_signins = 0
        user.locked_until = user.created_at.replace(year=user.created_at.year + 1)
    everyone = _json(run_hub(settings, "users", "list", "--json"))["items"]
    assert sorted(p["id"] for p in everyone) == sorted([worker, officer])
    by_id = {p["id"]: p for p in everyone}
    assert by_id[worker] == {
        "id": worker,
        "email": "worker@iom.example.org",
        "role": "case_worker",
        "organization_id": office,
        "organization": "IOM Niamey",
        "second_factor": False,
        "disabled": False,
        "locked": False,
        "last_signin_at": None,
    }
    assert by_id[officer]["locked"] is True
    only_office = _json(run_hub(settings, "users", "list", "--org", office, "--json"))["items"]
    assert [p["id"] for p in only_office] == [worker]
    plain = run_hub(settings, "users", "list")
    assert plain.returncode == 0 and "worker@iom.example.org" in plain.stdout
    assert "locked" in plain.stdout


def test_disable_ends_sessions_and_enable_lets_them_back(
    settings: Settings, runtime: Runtime
) -> None:
    _, worker, officer = _people(runtime)
    tokens = [_open_session(runtime, worker) for _ in range(2)]
    bystander = _open_session(runtime, officer)
    disabled = _json(run_hub(settings, "users", "disable", "WORKER@iom.example.org", "--json"))
    assert disabled == {
        "id": worker,
        "email": "worker@iom.example.org",
        "disabled": True,
        "sessions_revoked": 2,
    }
    assert not any(_alive(runtime, t) for t in tokens)
    assert _alive(runtime, bystander)
    with runtime.sessions() as db:
        assert (
            service.authenticate(db=db, email="worker@iom.example.org", password=PASSWORD) is None
        )
    enabled = _json(run_hub(settings, "users", "enable", worker, "--json"))
    assert enabled["disabled"] is False
    with runtime.sessions() as db:
        assert service.authenticate(db=db, email="worker@iom.example.org", password=PASSWORD)
    actions = _actions(runtime)
    assert any(a == "user.disabled" and actor.startswith("cli") for a, actor in actions)
    assert any(a == "user.enabled" for a, _ in actions)
    # the old sessions stay ended
    assert not any(_alive(runtime, t) for t in tokens)


def test_reset_password_ends_sessions_lifts_the_lock_and_can_reset_the_second_factor(
    settings: Settings, runtime: Runtime
) -> None:
    _, _, officer = _people(runtime)
    token = _open_session(runtime, officer)
    with runtime.sessions.begin() as db:
        user = db.get(User, officer)
        assert user is not None
        user.failed_signins = 3
        user.locked_until = user.created_at.replace(year=user.created_at.year + 1)
        user.totp_enabled_at = user.created_at
        user.totp_ciphertext = b"sealed"
    result = _json(
        run_hub(
            settings,
            "users",
            "reset-password",
            officer,
            "--reset-second-factor",
            "--json",
            stdin=NEW_PASSWORD + "\n",
        )
    )
    assert result == {
        "id": officer,
        "email": "officer@ngo.example.org",
        "sessions_revoked": 1,
        "second_factor_reset": True,
    }
    assert not _alive(runtime, token)
    with runtime.sessions() as db:
        user = db.get(User, officer)
        assert user is not None
        assert user.locked_until is None and user.failed_signins == 0
        assert user.totp_enabled_at is None and user.totp_ciphertext is None
        assert service.authenticate(db=db, email=user.email, password=NEW_PASSWORD)
        assert service.authenticate(db=db, email=user.email, password=PASSWORD) is None
    actions = [a for a, _ in _actions(runtime)]
    assert "user.password_reset" in actions and "user.second_factor_reset" in actions
    with runtime.sessions() as db:
        rendered = repr([e.details for e in db.scalars(select(AuditEntry))])
    assert NEW_PASSWORD not in rendered


def test_reset_password_keeps_the_second_factor_unless_asked(
    settings: Settings, runtime: Runtime
) -> None:
    _, worker, _ = _people(runtime)
    with runtime.sessions.begin() as db:
        user = db.get(User, worker)
        assert user is not None
        user.totp_enabled_at = user.created_at
    plain = run_hub(
        settings, "users", "reset-password", "worker@iom.example.org", stdin=NEW_PASSWORD + "\n"
    )
    assert plain.returncode == 0, plain.stderr
    assert "worker@iom.example.org" in plain.stdout
    with runtime.sessions() as db:
        user = db.get(User, worker)
        assert user is not None and user.totp_enabled_at is not None
    weak = run_hub(settings, "users", "reset-password", worker, "--json", stdin="short\n")
    assert weak.returncode == 1 and weak.stdout == ""
    assert "12 characters" in weak.stderr


def test_an_unknown_user_is_a_plain_error(settings: Settings, runtime: Runtime) -> None:
    _people(runtime)
    for args in (
        ("disable", "nobody@example.org", "--json"),
        ("enable", "0" * 32),
        ("reset-password", "nobody@example.org"),
    ):
        result = run_hub(settings, "users", *args, stdin=NEW_PASSWORD + "\n")
        assert result.returncode == 1, args
        assert result.stdout == ""
        # the last line: a library's warning may come before it
        assert result.stderr.strip().splitlines()[-1].startswith("error: no user"), result.stderr
        assert "Traceback" not in result.stderr
