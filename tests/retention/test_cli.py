"""`hub retention run [--dry-run] [--json]`: what an operator reads (ids, the closure reason,
the dates; never the case's data), and a dry run that changes nothing."""

from __future__ import annotations

from hub.cases.models import Case
from hub.clock import clock
from hub.policy.retention import Period
from hub.settings import Settings
from tests.cli.test_keys import hub_in_process, one_json
from tests.retention.support import close
from tests.support.referral_world import CANARY_NAME, World


def test_the_command_lists_then_purges(world: World, settings: Settings) -> None:
    runtime = world.runtime
    case_id = world.case()
    closed_at = close(world, case_id, "death")
    due_at = Period(months=24).after(closed_at)

    nothing = hub_in_process(settings, "retention", "run")
    assert (nothing.returncode, nothing.stdout) == (0, "0 closed cases purged\n")

    clock.advance(due_at - closed_at)
    dry = hub_in_process(settings, "retention", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        f"{case_id}\tdeath\tclosed {closed_at.isoformat()}\tdue {due_at.isoformat()}",
        "1 closed cases would be purged",
    ]
    with runtime.sessions() as db:
        assert db.get_one(Case, case_id).erased_at is None

    done = hub_in_process(settings, "retention", "run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "1 closed cases purged"
    with runtime.sessions() as db:
        assert db.get_one(Case, case_id).erased_at is not None
    again = one_json(hub_in_process(settings, "retention", "run", "--json"))
    assert (again["due"], again["purged"], again["dry_run"]) == ([], [], False)
    for output in (dry.stdout, done.stdout):
        assert CANARY_NAME not in output


def test_help_names_the_command(settings: Settings) -> None:
    listed = hub_in_process(settings, "--help")
    assert "retention" in listed.stdout
    run = hub_in_process(settings, "retention", "run", "--help")
    assert "--dry-run" in run.stdout and "--json" in run.stdout
