"""Schemathesis over every operation of the hub's OpenAPI document, in process (not a test).

    .venv/bin/python bench/fuzz.py [--examples 50] [--no-negative] [--only SUBSTRING]

Builds a hub on a temporary SQLite database (migrated, real keys), seeds a world through the
API (an IOM sub-office with a case, a consent, a referral it sent, a transfer and a review held
for a consent officer; a partner NGO that received the referral), then generates requests for
every operation of `/openapi.json` with schemathesis: valid ones (positive mode) and invalid
ones (negative mode), half of them on the seeded ids so they reach past the 404. Every request
carries the sub-office's Bearer token holding all partner scopes. It checks that no response is
a 5xx (nor an exception out of the app) and that every error is `application/problem+json`
with a `code`, and prints: operations exercised, requests sent, server errors, other failures,
statuses seen per operation (with the ones the document does not list), wall time.

Exit status 1 when anything failed. `tests/api/test_fuzz.py` runs the same with a few
examples per operation as part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

PROBLEM = "application/problem+json"
OAUTH = "/oauth/"
# path parameters the seeded world has real values for
ID_NAMES = (
    "case_id",
    "consent_id",
    "referral_id",
    "transfer_id",
    "review_id",
    "organization_id",
    "client_id",
    "delivery_id",
)


@dataclass
class Failure:
    operation: str
    status: int | None  # None: the app raised instead of answering
    what: str
    request: str  # a curl command that replays it (the token elided)


@dataclass
class Report:
    operations: int = 0
    requests: int = 0
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    codes: Counter[tuple[int, str]] = field(default_factory=Counter)  # (status, problem code)
    undocumented: dict[str, set[int]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def server_errors(self) -> list[Failure]:
        return [f for f in self.failures if f.status is None or f.status >= 500]


def _curl(case: schemathesis.Case) -> str:
    try:
        return str(case.as_curl_command(headers={"Authorization": "Bearer <token>"}))
    except Exception as exc:  # the request could not be rendered; say what it was
        return f"{case.method} {case.formatted_path} ({type(exc).__name__})"


def _problem_issue(case: schemathesis.Case, response: Any) -> str | None:
    """What is wrong with an error response, or None when it is a proper problem document.

    The OAuth endpoints answer errors as RFC 6749 (section 5.2) says: JSON with `error`."""
    if case.path.startswith(OAUTH):
        try:
            body = response.json()
        except Exception:
            return "OAuth error is not JSON"
        if not isinstance(body, dict) or not isinstance(body.get("error"), str):
            return "OAuth error without an `error` member (RFC 6749, 5.2)"
        return None
    content_type = response.headers.get("content-type", [""])
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    if content_type.split(";")[0].strip() != PROBLEM:
        return f"error with content-type {content_type!r}, not {PROBLEM}"
    try:
        body = response.json()
    except Exception:
        return "problem document is not JSON"
    if not isinstance(body, dict) or not isinstance(body.get("code"), str) or not body["code"]:
        return "problem document without a `code`"
    if body.get("status") != response.status_code:
        return f"problem status {body.get('status')!r} differs from the HTTP status"
    return None


def _media_issue(case: schemathesis.Case, response: Any) -> str | None:
    """The answer's media type must be one the document gives for its status."""
    documented = case.operation.definition.raw.get("responses", {}).get(
        str(response.status_code), {}
    )
    media = documented.get("content")
    if not media or not response.content:
        return None
    content_type = response.headers.get("content-type", [""])
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    given = content_type.split(";")[0].strip()
    if given not in media:
        return f"content-type {given!r} not documented for {response.status_code}"
    return None


def _as_itself(case: schemathesis.Case) -> schemathesis.Case:
    """The client acting in its own name: a random `On-Behalf-Of` stops nearly every request
    at 403 `unknown_user`, before the code behind it."""
    if case.headers:
        for name in [n for n in case.headers if n.lower() == "on-behalf-of"]:
            del case.headers[name]
    return case


def _sender(
    report: Report, label: str, headers: dict[str, str], counts: Counter[int]
) -> Callable[[schemathesis.Case], None]:
    def send(case: schemathesis.Case) -> None:
        report.requests += 1
        try:
            response = case.call(headers=headers)
        except Exception as exc:
            report.failures.append(
                Failure(label, None, f"app raised {type(exc).__name__}", _curl(case))
            )
            return
        counts[response.status_code] += 1
        issue = _media_issue(case, response)
        if issue:
            report.failures.append(Failure(label, response.status_code, issue, _curl(case)))
        if response.status_code >= 500:
            report.failures.append(
                Failure(label, response.status_code, "server error", _curl(case))
            )
        elif response.status_code >= 400:
            issue = _problem_issue(case, response)
            if issue is None and not case.path.startswith(OAUTH):
                report.codes[response.status_code, response.json()["code"]] += 1
            if issue:
                report.failures.append(Failure(label, response.status_code, issue, _curl(case)))

    return send


def fuzz(
    app: Any,
    *,
    token: str,
    ids: dict[str, str],
    examples: int,
    negative: bool = True,
    only: str | None = None,
    order: Callable[[Iterable[Any]], list[Any]] | None = None,
) -> Report:
    """Run schemathesis over every operation of `app`'s OpenAPI document."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if only is None or only in op.label]
    # destructive operations last, so the seeded ids live as long as possible
    operations.sort(key=lambda op: (op.method.upper() == "DELETE", op.label))
    if order is not None:
        operations = order(operations)
    headers = {"Authorization": f"Bearer {token}"}
    report = Report()
    started = time.perf_counter()
    for operation in operations:
        label = operation.label
        statuses: Counter[int] = Counter()
        documented = {str(code) for code in operation.definition.raw.get("responses", {})}
        known = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negative else [])
        strategies = []
        for mode in modes:
            generated = operation.as_strategy(generation_mode=mode)
            # positive requests act in the client's own name; negative ones keep any header
            strategies.append(generated.map(_as_itself) if mode.is_positive else generated)
            if known:
                strategies.append(
                    operation.as_strategy(generation_mode=mode, path_parameters=known)
                )

        run = settings(
            max_examples=examples * len(strategies),
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(given(case=st.one_of(strategies))(_sender(report, label, headers, statuses)))
        try:
            run()
        except Exception as exc:  # schemathesis could not generate for this operation
            report.failures.append(Failure(label, None, f"generation failed: {exc!r}", ""))
        report.operations += 1
        report.statuses[label] = statuses
        extra = {code for code in statuses if str(code) not in documented}
        if extra:
            report.undocumented[label] = extra
    report.seconds = time.perf_counter() - started
    return report


def format_report(report: Report) -> str:
    lines = [
        f"operations exercised: {report.operations}",
        f"requests sent: {report.requests}",
        f"server errors: {len(report.server_errors)} (target 0)",
        f"other failures: {len(report.failures) - len(report.server_errors)}",
        f"time: {report.seconds:.1f} s",
        "statuses per operation (* = not in the OpenAPI document):",
    ]
    for label, counts in report.statuses.items():
        extra = report.undocumented.get(label, set())
        shown = ", ".join(
            f"{code}{'*' if code in extra else ''}: {n}" for code, n in sorted(counts.items())
        )
        lines.append(f"  {label}  {shown}")
    lines.append(
        "problem codes: "
        + ", ".join(f"{status} {code}: {n}" for (status, code), n in sorted(report.codes.items()))
    )
    seen: set[tuple[str, int | None, str]] = set()
    for failure in report.failures:
        key = (failure.operation, failure.status, failure.what)
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"FAIL {failure.operation} [{failure.status}] {failure.what}")
        if failure.request:
            lines.append(f"     {failure.request}")
    return "\n".join(lines)


def seed(runtime: Any, api: Any) -> tuple[str, dict[str, str]]:
    """A world with one of everything; returns the sender's token and the ids to aim at."""
    from tests.support import factories
    from tests.support.referral_world import AGREED, PURPOSE, make_world
    from tests.support.transfer_world import plan

    world = make_world(runtime, api)
    with runtime.sessions.begin() as db:
        factories.agreement(
            db,
            runtime.policy,
            world.sender.organization_id,
            world.recipient.organization_id,
            ["case_transfer"],
            AGREED,
        )
    referral_id = world.sent()
    case_id = world.case()
    consent = world.consent(
        case_id,
        purposes=[PURPOSE, "case_transfer"],
        categories=["identity", "contact", "psychosocial", "health"],
    )
    ids = {
        "case_id": case_id,
        "consent_id": str(consent["id"]),
        "referral_id": referral_id,
        "organization_id": world.sender.organization_id,
        "client_id": world.sender.client_id,
    }
    held = world.refer(case_id, categories=["identity", "health"])  # health is reviewed
    assert held.status_code == 202, held.text
    ids["review_id"] = str(held.json()["review_id"])
    transfer = api.post(
        "/v1/transfers",
        json={
            "case_id": case_id,
            "to_organization_id": world.recipient.organization_id,
            "plan": plan(),
        },
        headers=world.sender.headers,
    )
    assert transfer.status_code in (201, 202), transfer.text
    ids["transfer_id"] = str(transfer.json()["id"])
    return world.sender.token, ids


@dataclass
class Seeded:
    runtime: Any
    app: Any
    api: Any  # a TestClient of `app`, started
    token: str  # the sender's, holding every partner scope
    ids: dict[str, str]


@contextmanager
def seeded_hub(prefix: str) -> Iterator[Seeded]:
    """A hub on a temporary, migrated SQLite database with real keys, and the `seed` world in
    it (shared by this fuzz and `bench/stateful.py`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' API world
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine

    from hub.app import create_app
    from hub.db import migrate
    from hub.runtime import Runtime
    from hub.settings import load_settings

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        url = f"sqlite:///{tmp}/hub.sqlite3"
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        data_dir = Path(tmp) / "data"
        data_dir.mkdir(mode=0o700)
        runtime = Runtime(
            load_settings(
                data_dir=data_dir,
                database_url=url,
                outbox_dispatch_on_commit=False,
                log_level="ERROR",
            )
        )
        try:
            app = create_app(runtime)
            with TestClient(app) as api:
                token, ids = seed(runtime, api)
                yield Seeded(runtime=runtime, app=app, api=api, token=token, ids=ids)
        finally:
            runtime.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50, help="examples per operation and mode")
    parser.add_argument("--no-negative", action="store_true", help="valid requests only")
    parser.add_argument("--only", help="operations whose label contains this")
    args = parser.parse_args()

    with seeded_hub("hub-fuzz-") as hub:
        report = fuzz(
            hub.app,
            token=hub.token,
            ids=hub.ids,
            examples=args.examples,
            negative=not args.no_negative,
            only=args.only,
        )
        ids = hub.ids
    print(format_report(report))
    print(f"seeded ids: {', '.join(sorted(ids))}; load average: {os.getloadavg()}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
