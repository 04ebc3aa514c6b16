"""The OpenAPI document as strict as the API: partners generate their clients from it.

FastAPI writes the operations, schemas and scopes from the routes. This adds what it cannot
know, once for every operation rather than route by route:

- **Problem answers.** Each operation lists the error statuses it can give, as
  `application/problem+json` (RFC 9457, a `Problem` with its stable `code`): 400 (malformed
  JSON or header) everywhere; 401 and 403 where a token is needed; 404 where a path names an
  object (another organisation's is 404 too); 409 where a change meets the object's state (a
  lifecycle move, a duplicate); 410 where the operation reads or seals an erased case's personal
  data; 413 where a body is read; 422 where a body or a parameter can be refused (not for a
  plain id or `On-Behalf-Of`, which are looked up); 429 on the token endpoint. `/oauth/*`
  answers errors as RFC 6749 JSON instead.
- **Links** from each operation that creates an object to those that use it (a case → its
  reads, consents, erasure; a referral → its moves, events, deliveries; a held request → its
  review): clients and stateful test tools follow them.
- **Examples.** Each JSON request body shows its schema's first example on the operation, a body
  the API accepts as it is once its ids name real objects (tests/api/test_openapi_examples.py
  posts every one).
- **Alternative scopes.** A route any of several scopes opens (`require_any_scope`) lists one
  security requirement per scope; the empty requirement FastAPI adds for its token is dropped.
- **Vocabularies as enums.** Purposes, data categories, service types, organisation kinds and
  urgencies are the loaded policy's (`specs/policy.yaml`): the request schemas list exactly the
  values validation accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from hub.api.problems import MEDIA_TYPE

OAUTH = "/oauth/"
MUTATING = frozenset({"post", "put", "patch", "delete"})

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable, the words may change.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "additionalProperties": True,
}
OAUTH_ERROR_SCHEMA: dict[str, Any] = {
    "title": "OAuthError",
    "type": "object",
    "description": "RFC 6749 section 5.2 error response.",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "error_description": {"type": "string"},
    },
    "additionalProperties": True,
}

WHY: dict[int, str] = {
    400: "Malformed request: the body is not valid JSON, or a header is out of shape",
    401: "No token, or a token that is invalid, expired or revoked",
    403: "The token lacks the scope, or the person named in On-Behalf-Of may not act",
    404: "No such object, or another organisation's",
    409: "The object's state does not allow it (a lifecycle move, a conflict)",
    410: "The case's personal data has been erased (`case_erased`)",
    413: "The request body is too large",
    422: "A value is refused (validation, a vocabulary, a rule of the consent gate)",
    429: "Too many attempts: wait as Retry-After says",
}

# property name in a request schema → the policy vocabulary its values come from
VOCABULARY_OF: dict[str, str] = {
    "purpose": "purposes",
    "purposes": "purposes",
    "categories": "data_categories",
    "service_type": "service_types",
    "services": "service_types",
    "kinds": "organization_kinds",
    "urgency": "urgencies",
    "reason_code": "decline_reasons",
    "outcome_code": "outcomes",
    "refusal_code": "transfer_request_refusals",
}
# `kind` means an organisation's kind only in these schemas (elsewhere: a channel's, a review's)
ORGANIZATION_KIND_SCHEMAS = frozenset({"OrganizationCreate"})

# operations that open or seal a case's personal data, so meet its erasure as 410
# `case_erased`. A list of consents or disclosures reads only what stays after erasure; a new
# referral is refused by the consent gate (422 `case_erased` among its reasons); a request
# held or returned is cancelled by the erasure (then 409); a transfer already offered is not,
# and its acceptance opens the case.
READS_CASE_DATA: frozenset[tuple[str, str]] = frozenset(
    {
        ("get", "/v1/cases/{case_id}"),
        ("patch", "/v1/cases/{case_id}"),
        ("delete", "/v1/cases/{case_id}"),
        # an erased case has no life left to close or reopen
        ("post", "/v1/cases/{case_id}/close"),
        ("post", "/v1/cases/{case_id}/reopen"),
        ("post", "/v1/cases/{case_id}/consents"),
        ("post", "/v1/consents/{consent_id}/withdraw"),
        ("put", "/v1/consents/{consent_id}/evidence"),
        ("get", "/v1/consents/{consent_id}/evidence"),
        ("post", "/v1/transfers"),
        ("post", "/v1/transfers/{transfer_id}/accept"),
    }
)


def install(
    app: FastAPI,
    vocabularies: Callable[[], dict[str, list[str]]],
    routes: Callable[[], Sequence[BaseRoute]] | None = None,
) -> None:
    """`vocabularies()`: each vocabulary's values by name (`hub.api.vocabulary.as_lists`) of
    the app's runtime when the document is made (binding another runtime clears it).
    `routes()`: the routes to document, in their order (the app's own by default)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes if routes is None else routes(),
            )
            declare_alternative_scopes(doc)
            declare_problems(doc)
            declare_links(doc)
            declare_vocabularies(doc, vocabularies())
            declare_examples(doc)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if method in MUTATING | {"get"}:
                yield path, method, operation


REFUSABLE = frozenset(
    {"enum", "maxLength", "minLength", "pattern", "format", "maximum", "minimum", "const"}
)


def _can_refuse(parameter: dict[str, Any]) -> bool:
    """Whether validation can refuse a value of this parameter (422): a typed or constrained
    value, or any query parameter (a cursor is decoded, a filter checked); a plain string in the
    path or a header (an id, `On-Behalf-Of`) is looked up instead, a 404 or 403."""
    if parameter.get("in") == "query":
        return True
    schema = parameter.get("schema", {})
    branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
    return any(b.get("type", "string") != "string" or REFUSABLE & set(b) for b in branches)


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    params = operation.get("parameters", [])
    in_path = any(p.get("in") == "path" for p in params)
    reads_input = any(_can_refuse(p) for p in params) or "requestBody" in operation
    codes = [400]
    if path.startswith(OAUTH):
        return [400, 401, 429] if path.endswith("/token") else [400, 401]
    if operation.get("security"):
        codes += [401, 403]
    if in_path:
        codes.append(404)
    if method in MUTATING:
        # a move the state refuses, or a duplicate (an external reference, a name, an open
        # transfer of the case)
        codes.append(409)
    if (method, path) in READS_CASE_DATA:
        codes.append(410)
    if "requestBody" in operation:
        codes.append(413)
    if reads_input:
        codes.append(422)
    return codes


def declare_alternative_scopes(doc: dict[str, Any]) -> None:
    for _, _, operation in _operations(doc):
        security = operation.get("security") or []
        if any(req.get("oauth2") for req in security):
            operation["security"] = [req for req in security if req.get("oauth2") != []]


def declare_problems(doc: dict[str, Any]) -> None:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", PROBLEM_SCHEMA)
    schemas.setdefault("OAuthError", OAUTH_ERROR_SCHEMA)
    for path, method, operation in _operations(doc):
        responses = operation.setdefault("responses", {})
        oauth = path.startswith(OAUTH)
        media, ref = ("application/json", "OAuthError") if oauth else (MEDIA_TYPE, "Problem")
        content = {media: {"schema": {"$ref": f"#/components/schemas/{ref}"}}}
        statuses = _statuses(path, method, operation)
        given_422 = responses.get("422", {}).get("content", {}).get("application/json", {})
        if 422 not in statuses and given_422.get("schema", {}).get("$ref", "").endswith(
            "HTTPValidationError"
        ):
            # FastAPI lists it for any parameter, even one no value of which is refused
            del responses["422"]
        for status in statuses:
            responses.setdefault(str(status), {"description": WHY[status]})
        for status, response in responses.items():
            if not status.startswith(("4", "5")):
                continue
            given = response.get("content", {}).get("application/json", {}).get("schema", {})
            if "content" not in response or given.get("$ref", "").endswith("HTTPValidationError"):
                # a route's own error status, or FastAPI's validation answer: a problem
                response["content"] = content
                if status == "422":
                    response["description"] = WHY[422]
            elif not oauth and "application/json" in response["content"]:
                # a problem with members of its own (`reasons`), or any other problem with that
                # status (a validation error is 422 too): problem+json either way
                problem = {"$ref": "#/components/schemas/Problem"}
                response["content"] = {MEDIA_TYPE: {"schema": {"anyOf": [given, problem]}}}
    # nothing answers FastAPI's own validation shape: every 422 is a Problem
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def body_schema(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    """The component schema of an operation's JSON body (an optional body's non-null branch)."""
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if media is None:
        return None
    schema = media.get("schema", {})
    refs = [schema, *schema.get("anyOf", [])]
    for node in refs:
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            return doc["components"]["schemas"].get(ref.rsplit("/", 1)[1])
    return None


def declare_examples(doc: dict[str, Any]) -> None:
    for _, _, operation in _operations(doc):
        schema = body_schema(doc, operation)
        examples = (schema or {}).get("examples")
        if examples:
            media = operation["requestBody"]["content"]["application/json"]
            media.setdefault("example", examples[0])


def _request_schemas(doc: dict[str, Any]) -> set[str]:
    """The component schemas a request body can hold, following references."""
    schemas = doc.get("components", {}).get("schemas", {})
    todo: list[Any] = [op["requestBody"] for _, _, op in _operations(doc) if "requestBody" in op]
    seen: set[str] = set()
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen and name in schemas:
                    seen.add(name)
                    todo.append(schemas[name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return seen


def _constrain(schema: dict[str, Any], values: list[str]) -> None:
    """Put the enum on the string (or the array's items, or the non-null branch)."""
    if schema.get("type") == "string" and "enum" not in schema:
        schema["enum"] = values
    elif schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        _constrain(schema["items"], values)
    for branch in schema.get("anyOf", []):
        if isinstance(branch, dict) and branch.get("type") != "null":
            _constrain(branch, values)


def declare_vocabularies(doc: dict[str, Any], vocab: dict[str, list[str]]) -> None:
    schemas = doc.get("components", {}).get("schemas", {})
    for name in _request_schemas(doc):
        for prop, schema in schemas[name].get("properties", {}).items():
            if prop == "kind" and name in ORGANIZATION_KIND_SCHEMAS:
                _constrain(schema, vocab["organization_kinds"])
            elif prop in VOCABULARY_OF:
                _constrain(schema, vocab[VOCABULARY_OF[prop]])


# the collection a POST creates in → (the path parameter naming the new object, the member of
# the answer holding its id); a held request also names its review
CREATES: dict[str, tuple[str, str]] = {
    "/v1/cases": ("case_id", "id"),
    "/v1/cases/{case_id}/consents": ("consent_id", "id"),
    "/v1/organizations": ("organization_id", "id"),
    "/v1/organizations/{organization_id}/clients": ("client_id", "client_id"),
    "/v1/referrals": ("referral_id", "id"),
    "/v1/transfers": ("transfer_id", "id"),
}
HELD_FOR_REVIEW = ("review_id", "review_id")


def _path_params(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}


def declare_links(doc: dict[str, Any]) -> None:
    operations = list(_operations(doc))
    for path, (param, member) in CREATES.items():
        creator = doc["paths"].get(path, {}).get("post")
        if creator is None:
            continue
        known = _path_params(creator)
        for status, response in creator["responses"].items():
            if status not in ("201", "202"):
                continue
            given = [(param, member)] + ([HELD_FOR_REVIEW] if status == "202" else [])
            links: dict[str, Any] = {}
            for name, field in given:
                for _, _, follower in operations:
                    needs = _path_params(follower)
                    if name not in needs or not needs - {name} <= known:
                        continue
                    values = {n: f"$request.path.{n}" for n in needs - {name}}
                    values[name] = f"$response.body#/{field}"
                    links[follower["operationId"]] = {
                        "operationId": follower["operationId"],
                        "parameters": values,
                    }
            if links:
                response["links"] = links
