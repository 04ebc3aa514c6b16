"""The problem statuses each operation declares are the ones it really answers.

Every /v1 operation of the document is called in the ways that should bring each declared
problem: no token (401), a token of the right organisation lacking the route's scope (403), a
path id that names nothing (404), malformed JSON (400), a body of the wrong shape or query
and header values their schemas refuse (422), a body
over the size limit (413), and its own success call made twice (a lifecycle move or a duplicate
meets the state it left: 409 where the operation has one). Both ways are checked:

- every status an operation answered is one the document lists for it;
- every 401, 403, 404, 413 and 422 the document lists was answered by one of those calls, so
  the document promises no problem the route cannot give (409 is the state's answer: some
  operations only meet it in states these calls do not build, so it is checked one way).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hub.cases.models import Case
from hub.consent.evidence import EVIDENCE_MAX_BYTES
from hub.erasure import service as erasure
from tests.api.test_authorization_matrix import v1_operations
from tests.support.route_scenarios import SCENARIOS, Call, Ctx, fill

NOWHERE = "00000000-0000-4000-8000-000000000000"
# declared statuses these calls cannot bring, and why the operation can still answer them
REACHED_OTHERWISE: dict[tuple[str, str, int], str] = {
    ("GET", "/v1/audit/checkpoint", 404): "no checkpoint has been signed yet",
    ("POST", "/v1/services", 404): "a partner naming another organisation than its own",
}
# bodies with a limit of their own (a scanned form streams past the JSON bodies' limit)
OWN_LIMIT = {("PUT", "/v1/consents/{consent_id}/evidence"): EVIDENCE_MAX_BYTES}
# checked both ways; 400 and 409 one way (see the module's docstring)
BOTH_WAYS = (401, 403, 404, 413, 422)


def _declared(api: Any) -> dict[tuple[str, str], set[int]]:
    doc = api.app.openapi()
    return {
        (method.upper(), path): {int(s) for s in operation["responses"] if s.isdigit()}
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    }


def _body_media(api: Any, method: str, path: str) -> str | None:
    operation = api.app.openapi()["paths"][path][method.lower()]
    content = operation.get("requestBody", {}).get("content", {})
    return next(iter(content), None)


def _refused_parameters(
    api: Any, method: str, path: str
) -> tuple[dict[str, str], dict[str, str]] | None:
    """Query and header values each parameter's schema refuses, or None when none can be."""
    operation = api.app.openapi()["paths"][path][method.lower()]
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        branch = next((b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"), {})
        if "maxLength" in branch:
            value = "k" * (branch["maxLength"] + 1)
        elif branch.get("type") in ("integer", "number", "boolean") or "enum" in branch:
            value = "~"
        elif parameter["in"] == "query" and parameter["name"] == "cursor":
            value = "~"  # not one the API gave
        else:
            continue
        if parameter["in"] == "query":
            query[parameter["name"]] = value
        elif parameter["in"] == "header":
            headers[parameter["name"]] = value
    return (query, headers) if query or headers else None


def test_declared_problem_statuses_are_the_real_ones(ctx: Ctx) -> None:
    api = ctx.api
    declared = _declared(api)
    limit = ctx.runtime.settings.max_body_bytes
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)

    for method, path, scopes in v1_operations(api):
        key = (method, path)
        scenario = SCENARIOS[key]
        caller = ctx.admin if scenario.admin else ctx.owner
        got = seen[key]

        got.add(api.request(method, fill(path, {}), json={}).status_code)
        call = scenario.build(ctx)
        if scopes:
            weak = ctx.lacking(scopes)
            refused = api.request(method, fill(path, call.path_params), **call.send(weak.headers))
            got.add(refused.status_code)

        # a person who is not of the caller's organisation (what the refused scope's call
        # named serves these calls too: a call refused for its scope changes nothing)
        stranger = caller.headers | {"On-Behalf-Of": NOWHERE}
        got.add(api.request(method, fill(path, call.path_params), headers=stranger).status_code)
        refused = _refused_parameters(api, method, path)
        if refused:
            query, headers = refused
            answer = api.request(
                method,
                fill(path, call.path_params),
                params=query,
                **call.send(caller.headers | headers, caller=True),
            )
            got.add(answer.status_code)
        # each path id in turn names nothing, the others stay real
        for name in call.path_params:
            params = call.path_params | {name: NOWHERE}
            answer = api.request(
                method, fill(path, params), **call.send(caller.headers, caller=True)
            )
            got.add(answer.status_code)

        media = _body_media(api, method, path)
        target = fill(path, call.path_params)
        if media == "application/json":
            headers = caller.headers | {"content-type": "application/json"}
            got.add(
                api.request(method, target, content=b'{"unfinished', headers=headers).status_code
            )
            got.add(api.request(method, target, content=b"[1, 2]", headers=headers).status_code)
        elif media is not None:
            # bytes that are not what the content type says
            headers = caller.headers | {"content-type": media}
            got.add(api.request(method, target, content=b"plain", headers=headers).status_code)
        if media is not None:
            big = b" " * (OWN_LIMIT.get(key, limit) + 1)
            headers = caller.headers | {"content-type": media}
            got.add(api.request(method, target, content=big, headers=headers).status_code)

        # the success call, then the same again: the second meets the state the first left
        call = scenario.build(ctx)
        target = fill(path, call.path_params)
        first = api.request(method, target, **call.send(caller.headers, caller=True))
        assert first.status_code == call.status, (method, path, first.text)
        got.add(first.status_code)
        again = api.request(method, target, **call.send(caller.headers, caller=True))
        got.add(again.status_code)

    undeclared = {
        f"{m} {p}": sorted(s - declared[(m, p)])
        for (m, p), s in seen.items()
        if s - declared[(m, p)]
    }
    assert undeclared == {}, "answered but not in the document"

    promised = {}
    for (method, path), statuses in seen.items():
        never = {
            s
            for s in declared[(method, path)] & set(BOTH_WAYS)
            if s not in statuses and (method, path, s) not in REACHED_OTHERWISE
        }
        if never:
            promised[f"{method} {path}"] = sorted(never)
    assert promised == {}, "in the document but never answered"
    assert len(seen) >= 50


def _case_of(ctx: Ctx, call: Call) -> str | None:
    """The case an operation's call names, by path or body."""
    params = call.path_params
    if "case_id" in params:
        return params["case_id"]
    if isinstance(call.body, dict) and isinstance(call.body.get("case_id"), str):
        return str(call.body["case_id"])
    for name, collection in (
        ("consent_id", "consents"),
        ("referral_id", "referrals"),
        ("transfer_id", "transfers"),
    ):
        if name in params:
            read = ctx.api.get(f"/v1/{collection}/{params[name]}", headers=ctx.owner.headers)
            return str(read.json()["case_id"]) if read.status_code == 200 else None
    return None


def test_an_erased_case_is_410_where_declared(ctx: Ctx) -> None:
    """Each operation naming a case (by path, body, or through its consent, referral or
    transfer) is called after the case's owner erased it: 410 `case_erased` comes from exactly
    the operations that declare it."""
    api = ctx.api
    declared = _declared(api)
    answered: dict[tuple[str, str], int] = {}
    for method, path, _ in v1_operations(api):
        if method == "GET" and "{" not in path:
            continue  # a list: what is erased is left out of it
        scenario = SCENARIOS[(method, path)]
        call = scenario.build(ctx)
        case_id = _case_of(ctx, call)
        if case_id is None:
            continue
        # erased by its owner, whichever organisation that is
        with ctx.runtime.sessions.begin() as db:
            case = db.get_one(Case, case_id)
            erasure.erase(db=db, keyring=ctx.runtime.keyring, actor="test", case=case)
        caller = ctx.admin if scenario.admin else ctx.owner
        answer = api.request(
            method, fill(path, call.path_params), **call.send(caller.headers, caller=True)
        )
        answered[(method, path)] = answer.status_code
        if answer.status_code == 410:
            assert answer.json()["code"] == "case_erased", (method, path)
    gone = {key for key, status in answered.items() if status == 410}
    promised = {key for key in answered if 410 in declared[key]}
    assert gone == promised, {f"{m} {p}": s for (m, p), s in answered.items()}
    unreached = {key for key, statuses in declared.items() if 410 in statuses} - set(answered)
    assert unreached == set(), "410 declared where no erased case could be tried"
