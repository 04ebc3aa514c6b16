"""Every /v1 route in the OpenAPI document, walked with no token, a token without the route's
scope, another organisation's token, and the right caller's token.

Routes are read from the OpenAPI document, so a route added later is walked too; it must
declare a scope (deny by default) and have a scenario in tests/support/route_scenarios.py.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.route_scenarios import SCENARIOS, Ctx, fill

METHODS = {"get", "post", "put", "patch", "delete"}


def v1_operations(api: TestClient) -> list[tuple[str, str, list[str] | None]]:
    """(method, path, scopes) of each /v1 operation; scopes None when none is declared."""
    ops = []
    for path, item in api.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        if not path.startswith("/v1/"):
            continue
        for method, op in item.items():
            if method not in METHODS:
                continue
            security = op.get("security")
            scopes = (
                None
                if not security
                else sorted({s for req in security for s in req.get("oauth2", [])})
            )
            ops.append((method.upper(), path, scopes))
    return ops


def test_every_v1_route_declares_a_scope_and_has_a_scenario(api: TestClient) -> None:
    ops = v1_operations(api)
    assert len(ops) >= len(SCENARIOS) > 0
    undeclared = [(m, p) for m, p, scopes in ops if scopes is None]
    assert undeclared == [], "routes without security in OpenAPI"
    missing = [(m, p) for m, p, _ in ops if (m, p) not in SCENARIOS]
    assert missing == [], "add these routes to tests/support/route_scenarios.py"
    stale = set(SCENARIOS) - {(m, p) for m, p, _ in ops}
    assert stale == set(), "scenarios for routes that no longer exist"


def test_matrix(ctx: Ctx) -> None:
    api = ctx.api
    walked = 0
    for method, path, scopes in v1_operations(api):
        scenario = SCENARIOS[(method, path)]
        label = f"{method} {path}"

        # no token
        anonymous = api.request(method, fill(path, {}), json={})
        assert anonymous.status_code == 401, label
        assert anonymous.headers["www-authenticate"].startswith("Bearer"), label
        assert anonymous.json()["code"] == "unauthorized", label

        # garbage token
        garbage = api.request(
            method, fill(path, {}), json={}, headers={"Authorization": "Bearer not.a.jwt"}
        )
        assert garbage.status_code == 401, label
        assert garbage.json()["code"] == "invalid_token", label

        # the two calls refused below change nothing (each asserts its refusal): what they
        # name is made once for both; the right caller's call gets a fresh one
        call = scenario.build(ctx)

        # a token of the right organisation without the route's scope
        if scopes:
            weak = ctx.lacking(scopes)
            refused = api.request(method, fill(path, call.path_params), **call.send(weak.headers))
            assert refused.status_code == 403, (label, refused.text)
            assert 'error="insufficient_scope"' in refused.headers["www-authenticate"], label

        # another organisation, with every partner scope
        if scenario.tenant:
            foreign = api.request(
                method, fill(path, call.path_params), **call.send(ctx.other.headers)
            )
            assert foreign.status_code == 404, (label, foreign.text)
            assert foreign.json()["code"] == "not_found", label

        # the right caller
        call = scenario.build(ctx)
        caller = ctx.admin if scenario.admin else ctx.owner
        ok = api.request(
            method, fill(path, call.path_params), **call.send(caller.headers, caller=True)
        )
        assert ok.status_code == call.status, (label, ok.text)
        walked += 1
    assert walked == len(SCENARIOS)
