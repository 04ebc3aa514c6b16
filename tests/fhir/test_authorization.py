"""Every FHIR interaction × scope: no token 401, a token without the interaction's scope 403,
its SMART v2 scope or the v1 name that covers it let through; all answered as
OperationOutcomes. `INTERACTIONS` must list every route of the facade."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.fhir.smart import valid
from tests.support.api import client_for
from tests.support.referral_world import World


@dataclass(frozen=True)
class Interaction:
    method: str
    route: str  # as the app names it
    resource: str
    letter: str  # the SMART v2 permission it needs
    path: Callable[[dict[str, str]], str]
    body: Callable[[dict[str, str]], dict[str, Any] | None] = lambda ids: None
    # a conditional create (`If-None-Exist`), a retry's `Idempotency-Key`
    headers: tuple[tuple[str, str], ...] = ()


def _task(ids: dict[str, str]) -> dict[str, Any]:
    return {"resourceType": "Task", "id": ids["referral"], "status": "received", "intent": "order"}


INTERACTIONS = [
    Interaction("GET", "/fhir/R4/Task", "Task", "s", lambda i: "/fhir/R4/Task"),
    Interaction(
        "GET",
        "/fhir/R4/Task/{referral_id}",
        "Task",
        "r",
        lambda i: f"/fhir/R4/Task/{i['referral']}",
    ),
    Interaction(
        "PUT",
        "/fhir/R4/Task/{referral_id}",
        "Task",
        "u",
        lambda i: f"/fhir/R4/Task/{i['referral']}",
        _task,
    ),
    Interaction(
        "POST",
        "/fhir/R4/Task",
        "Task",
        "c",
        lambda i: "/fhir/R4/Task",
        lambda i: {"resourceType": "Task"},
    ),
    Interaction(
        "POST",
        "/fhir/R4/Task",
        "Task",
        "c",
        lambda i: "/fhir/R4/Task",
        lambda i: {"resourceType": "Task"},
        (("If-None-Exist", "identifier=urn:sender|1"), ("Idempotency-Key", "matrix-1")),
    ),
    Interaction(
        "POST", "/fhir/R4", "Task", "c", lambda i: "/fhir/R4", lambda i: {"resourceType": "Bundle"}
    ),
    Interaction(
        "POST",
        "/fhir/R4",
        "Task",
        "c",
        lambda i: "/fhir/R4",
        lambda i: {"resourceType": "Bundle"},
        (("Idempotency-Key", "matrix-2"),),
    ),
    Interaction(
        "POST",
        "/fhir/R4/",
        "Task",
        "c",
        lambda i: "/fhir/R4/",
        lambda i: {"resourceType": "Bundle"},
    ),
    Interaction(
        "GET",
        "/fhir/R4/ServiceRequest",
        "ServiceRequest",
        "s",
        lambda i: f"/fhir/R4/ServiceRequest?requester=Organization/{i['org']}&_count=5",
    ),
    Interaction(
        "GET",
        "/fhir/R4/ServiceRequest/{referral_id}",
        "ServiceRequest",
        "r",
        lambda i: f"/fhir/R4/ServiceRequest/{i['referral']}",
    ),
    Interaction(
        "GET",
        "/fhir/R4/Patient/{case_id}",
        "Patient",
        "r",
        lambda i: f"/fhir/R4/Patient/{i['case']}",
    ),
    Interaction(
        "GET",
        "/fhir/R4/Consent/{consent_id}",
        "Consent",
        "r",
        lambda i: f"/fhir/R4/Consent/{i['consent']}",
    ),
    Interaction(
        "GET", "/fhir/R4/Organization", "Organization", "s", lambda i: "/fhir/R4/Organization"
    ),
    Interaction(
        "GET",
        "/fhir/R4/Organization/{organization_id}",
        "Organization",
        "r",
        lambda i: f"/fhir/R4/Organization/{i['org']}",
    ),
    Interaction(
        "GET",
        "/fhir/R4/HealthcareService",
        "HealthcareService",
        "s",
        lambda i: "/fhir/R4/HealthcareService",
    ),
    Interaction(
        "GET",
        "/fhir/R4/HealthcareService/{service_id}",
        "HealthcareService",
        "r",
        lambda i: f"/fhir/R4/HealthcareService/{i['service']}",
    ),
]
V1 = {"r": "read", "s": "read", "c": "write", "u": "write", "d": "write"}


def _as_v1(scope: str) -> str:
    """`system/Task.u` → `system/Task.write`."""
    resource, letter = scope.rsplit(".", 1)
    return f"{resource}.{V1[letter]}"


def test_every_route_of_the_facade_is_in_the_matrix(api: TestClient) -> None:
    found = {
        (method, route.path)
        for route in iter_route_contexts(api.app.routes)  # type: ignore[attr-defined]
        if (route.path or "").startswith("/fhir/")
        for method in (route.methods or ()) - {"HEAD", "OPTIONS"}
    }
    listed = {(i.method, i.route) for i in INTERACTIONS} | {("GET", "/fhir/R4/metadata")}
    assert found == listed


def _send(
    api: TestClient, interaction: Interaction, ids: dict[str, str], headers: dict[str, str]
) -> Any:
    body = interaction.body(ids)
    sent = {**headers, **dict(interaction.headers)}
    return api.request(
        interaction.method,
        interaction.path(ids),
        json=body,
        headers={**sent, "Content-Type": "application/fhir+json"} if body else sent,
    )


def test_matrix(runtime: Runtime, api: TestClient, world: World) -> None:
    case_id = world.case()
    consent_id = world.consent(case_id)["id"]
    referral_id = world.refer(case_id).json()["id"]
    ids = {
        "referral": referral_id,
        "case": case_id,
        "consent": consent_id,
        "org": world.sender.organization_id,
        "service": "nothing-here",
    }
    org = world.recipient.organization_id
    walked = 0
    for interaction in INTERACTIONS:
        label = f"{interaction.method} {interaction.route}"
        anonymous = _send(api, interaction, ids, {})
        assert anonymous.status_code == 401, label
        assert anonymous.headers["content-type"].startswith("application/fhir+json"), label
        assert valid(anonymous.json())["issue"][0]["code"] == "login", label
        assert anonymous.headers["www-authenticate"].startswith("Bearer"), label

        # every other permission on the resource, and every permission on the others
        others = [
            f"system/{interaction.resource}.{letter}"
            for letter in "cruds"
            if letter != interaction.letter
        ] + [
            "system/Organization.cruds"
            if interaction.resource != "Organization"
            else "system/Task.cruds"
        ]
        weak = client_for(runtime, api, org, " ".join(others))
        refused = _send(api, interaction, ids, weak.headers)
        assert refused.status_code == 403, (label, refused.text)
        assert valid(refused.json())["issue"][0]["code"] == "forbidden", label
        assert 'error="insufficient_scope"' in refused.headers["www-authenticate"], label

        needed = [f"system/{interaction.resource}.{interaction.letter}"]
        if interaction.method == "POST":  # a referral's request is created with its Task
            needed.append("system/ServiceRequest.c")
        for scope in (
            " ".join(needed),
            " ".join(_as_v1(n) for n in needed),
            "system/*.cruds",
        ):
            allowed = client_for(runtime, api, org, scope)
            answer = _send(api, interaction, ids, allowed.headers)
            assert answer.status_code not in (401, 403), (label, scope, answer.text)
            assert answer.status_code < 500, (label, scope, answer.text)
            valid(answer.json())
        walked += 1
    assert walked == len(INTERACTIONS)


def test_a_search_of_service_requests_is_the_callers_own(
    runtime: Runtime, api: TestClient, world: World
) -> None:
    """Tenant isolation in the query: another organisation's search finds nothing, whatever
    it names, and the parties each find the referral."""
    case_id = world.case()
    world.consent(case_id)
    referral_id = world.refer(case_id).json()["id"]
    sender = world.sender.organization_id
    for org, expected in (
        (world.outsider.organization_id, []),
        (world.recipient.organization_id, [referral_id]),
        (sender, [referral_id]),
    ):
        reader = client_for(runtime, api, org, "system/ServiceRequest.s")
        for query in ("", f"?requester=Organization/{sender}", "?status=active"):
            bundle = valid(
                api.get(f"/fhir/R4/ServiceRequest{query}", headers=reader.headers).json()
            )
            assert [e["resource"]["id"] for e in bundle.get("entry", [])] == expected, (org, query)
