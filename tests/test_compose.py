"""docker-compose.yml and the Dockerfile say only what the hub understands.

Docker cannot run here, so this is the check: every hub service's command resolves to a real
`hub` command with options it accepts (looked up in the typer app itself, so commands added
later are found), every `HUB_` variable is a real setting, and the shared settings validate.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from hub.cli.main import app
from hub.settings import Settings, load_settings
from hub.settings_doc import env_name

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# the services that run the hub's image (built from the Dockerfile) rather than a stock one
HUB_SERVICES = sorted(name for name, svc in SERVICES.items() if "build" in svc)
SETTINGS = {env_name(field) for field in Settings.model_fields}
# ${NAME}, ${NAME:-default}, ${NAME:?message}
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def resolve(argv: list[str]) -> object:
    """The command `argv` runs, found and parsed the way `hub` itself would: an unknown
    command, a group without its subcommand, an unknown option or a bad value all fail."""
    assert argv and argv[0] == "hub", f"not a hub command: {argv}"
    # typer ships its own copy of click: duck-type groups by `resolve_command`
    command: Any = typer.main.get_command(app)
    name, args, parent = "hub", argv[1:], None
    try:
        while hasattr(command, "resolve_command"):
            assert args, f"{argv} names a command group, not a command"
            parent = command.context_class(command, info_name=name, parent=parent)
            name, command, args = command.resolve_command(parent, list(args))
            assert command is not None, f"`hub` has no command {name!r}"
        command.make_context(name, list(args), parent=parent)
        return command
    except AssertionError:
        raise
    except BaseException as exc:  # click's usage errors and exits (e.g. no_args_is_help)
        raise AssertionError(f"{argv} is not a valid hub command: {exc!r}") from exc


def _interpolate(value: str) -> str:
    """Compose's variable substitution, with a stand-in for every required secret."""

    def stand_in(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if kind in (":-", "-"):
            return rest
        return f"stand-in-{name.lower()}"

    return INTERPOLATION.sub(stand_in, value)


def test_there_are_the_production_services() -> None:
    assert {"postgres", "redis", "migrate", "api", "worker", "beat"} <= set(SERVICES)
    assert SERVICES["postgres"]["image"].split(":")[1].startswith("16")
    assert SERVICES["redis"]["image"].split(":")[1].startswith("7")
    assert set(HUB_SERVICES) >= {"migrate", "api", "worker", "beat"}


@pytest.mark.parametrize("service", HUB_SERVICES)
def test_every_hub_service_runs_a_real_hub_command(service: str) -> None:
    assert "command" in SERVICES[service], f"{service} has no command"
    resolve(_argv(SERVICES[service]["command"]))


def test_the_expected_commands_run_where_they_should() -> None:
    commands = {name: _argv(SERVICES[name]["command"])[1:3] for name in HUB_SERVICES}
    assert commands["migrate"] == ["db", "upgrade"]
    assert commands["api"][0] == "serve"
    assert commands["worker"] == ["worker"]
    assert commands["beat"] == ["beat"]


def test_the_images_default_command_is_real() -> None:
    match = re.search(r"^CMD\s+(\[.*\])\s*$", DOCKERFILE, flags=re.MULTILINE)
    assert match, "the Dockerfile has no exec-form CMD"
    resolve(yaml.safe_load(match.group(1)))


def test_the_resolver_refuses_what_is_not_there() -> None:
    wrong = (
        ["sh", "-c", "hub serve"],
        ["hub", "nope"],
        ["hub", "db"],
        ["hub", "db", "upgrade", "extra"],
        ["hub", "serve", "--no-such-option"],
        ["hub", "serve", "--port", "eighty"],
    )
    for argv in wrong:
        with pytest.raises(AssertionError):
            resolve(argv)


def test_every_hub_variable_named_anywhere_is_a_setting() -> None:
    named = set(re.findall(r"\bHUB_[A-Z0-9_]+\b", COMPOSE_TEXT + DOCKERFILE))
    assert named, "no HUB_ variables found"
    assert sorted(named - SETTINGS) == []


@pytest.mark.parametrize("service", HUB_SERVICES)
def test_every_hub_service_gets_the_production_settings(service: str) -> None:
    env = SERVICES[service]["environment"]
    assert isinstance(env, dict), "use the mapping form so the shared block merges"
    assert set(env) <= SETTINGS
    values = {name: _interpolate(str(value)) for name, value in env.items()}
    assert values["HUB_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert values["HUB_BROKER_URL"].startswith("redis://")
    assert values["HUB_KEK_PROVIDER"] == "env"
    # what the container would load; an invalid value here would stop it at start
    settings = load_settings(**{name.removeprefix("HUB_").lower(): v for name, v in values.items()})
    assert not settings.is_sqlite
    assert not settings.is_embedded_broker


def test_the_hub_starts_after_migrations_and_the_image_runs_unprivileged() -> None:
    for name in HUB_SERVICES:
        depends = SERVICES[name].get("depends_on", {})
        if name == "migrate":
            assert depends["postgres"]["condition"] == "service_healthy"
        else:
            assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert re.search(r"^FROM python:3\.11-slim\s*$", DOCKERFILE, flags=re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
