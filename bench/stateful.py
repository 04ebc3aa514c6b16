"""Schemathesis's stateful run over the hub, following the OpenAPI document's links (not a test).

    .venv/bin/python bench/stateful.py [--examples 30] [--steps 8]

Builds a hub on a temporary SQLite database and seeds the same world as `bench/fuzz.py` (the
sender's token holds every partner scope). Schemathesis then chains operations as the
document's links say (a case → its consents, reads and erasure; a referral → its moves,
events and deliveries; a held request → its review), taking each follower's path ids from the
answer of the operation before it. Only the document's own links are followed: schemathesis's
inference of links from names is switched off, so the figure says what the document offers.

It checks, on every answer: no 5xx (nor an exception out of the app), a status the document
lists for the operation, and a media type the document gives for that status. It prints the
operations reached (called at least once, and with a 2xx), their statuses, those never reached,
the failures, and the wall time. Exit status 1 on a failure. `tests/api/test_stateful.py`
runs a short version.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@dataclass
class Report:
    operations: list[str] = field(default_factory=list)  # every operation of the document
    calls: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    # the run ended before its last scenario: the world changed under a replayed one (the
    # database outlives each scenario, so a replay can answer otherwise and draw otherwise)
    stopped: str | None = None
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def reached(self) -> set[str]:
        return set(self.calls)

    @property
    def succeeded(self) -> set[str]:
        return {op for op, counts in self.statuses.items() if any(200 <= s < 300 for s in counts)}


def run(app: Any, *, token: str, admin_token: str, examples: int, steps: int) -> Report:
    """Run the state machine over `app`'s document; `examples` scenarios of up to `steps` calls.

    Operations whose scope is `admin` are called with `admin_token` (the hub's operator),
    the others with `token` (a partner's, holding every partner scope)."""
    config = schemathesis.Config.from_dict(
        {"phases": {"stateful": {"inference": {"algorithms": []}}}}
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    report = Report(operations=[r.ok().label for r in schema.get_all_operations()])
    partner = {"Authorization": f"Bearer {token}"}
    operator = {"Authorization": f"Bearer {admin_token}"}

    def headers_for(case: schemathesis.Case) -> dict[str, str]:
        security = case.operation.definition.raw.get("security") or []
        scopes = {s for requirement in security for s in requirement.get("oauth2", [])}
        return operator if "admin" in scopes else partner

    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            # the client acts in its own name: a generated `On-Behalf-Of` would stop nearly
            # every call at 403 `unknown_user`, before the code behind it
            if case.headers:
                for name in [n for n in case.headers if n.lower() == "on-behalf-of"]:
                    del case.headers[name]
            return {"headers": headers_for(case)}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            label = case.operation.label
            report.calls[label] += 1
            report.statuses.setdefault(label, Counter())[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers_for(case))
            except Exception as exc:  # recorded, so one run reports every kind of failure
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                report.failures.append(f"{label} [{response.status_code}] {first}")

    started = time.perf_counter()
    try:
        Machine.run(
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=False,
            )
        )
    except FlakyStrategyDefinition as exc:
        report.stopped = str(exc).splitlines()[0]
    except Exception as exc:  # anything else out of schemathesis is a failure
        report.failures.append(f"run stopped: {type(exc).__name__}: {exc}")
    report.seconds = time.perf_counter() - started
    return report


def format_report(report: Report) -> str:
    never = [op for op in report.operations if op not in report.reached]
    lines = [
        f"operations in the document: {len(report.operations)}",
        f"operations reached: {len(report.reached)} (with a 2xx: {len(report.succeeded)})",
        f"calls: {sum(report.calls.values())}",
        f"failures: {len(report.failures)} (target 0)",
        f"time: {report.seconds:.1f} s",
        f"stopped early: {report.stopped or 'no'}",
        "statuses per operation reached:",
    ]
    for label in report.operations:
        if label in report.statuses:
            counts = ", ".join(f"{s}: {n}" for s, n in sorted(report.statuses[label].items()))
            lines.append(f"  {label}  {counts}")
    lines.append("never reached: " + (", ".join(never) or "none"))
    for failure in sorted(set(report.failures)):
        lines.append(f"FAIL {failure}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=30, help="scenarios to run")
    parser.add_argument("--steps", type=int, default=8, help="calls per scenario, at most")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.fuzz, the tests' world
    from bench.fuzz import seeded_hub
    from tests.support.api import operator

    with seeded_hub("hub-stateful-") as hub:
        admin = operator(hub.runtime, hub.api)
        report = run(
            hub.app,
            token=hub.token,
            admin_token=admin.token,
            examples=args.examples,
            steps=args.steps,
        )
    print(format_report(report))
    return 1 if report.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
