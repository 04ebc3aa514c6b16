"""Problems as OperationOutcomes: the same statuses and stable codes as `/v1`, FHIR's shape.

The diagnostics are the problem's title and its codes only, never the request's values nor any
personal data: a `detail` written for `/v1` may name a field, never what was in it, and the
reasons of a denial are the gate's codes.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue

from hub.api.problems import PROBLEM_TYPE_BASE, Problem
from hub.fhir.media import fhir_response

# the hub's problem codes, as a code system (the same codes as `/v1`'s `code` member)
PROBLEM_SYSTEM = PROBLEM_TYPE_BASE.rstrip("/")

# FHIR's IssueType for each status (http://hl7.org/fhir/issue-type)
ISSUE_TYPE = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    429: "throttled",
}
# problem codes with an IssueType of their own
ISSUE_TYPE_BY_CODE = {
    "consent_denied": "business-rule",
    "invalid_transition": "business-rule",
    "unknown_value": "code-invalid",
    "validation_error": "invalid",
    "invalid_resource": "invalid",
    "insufficient_scope": "forbidden",
    "invalid_token": "expired",
}


def _diagnostics(problem: Problem) -> str:
    words = [problem.title.rstrip(".") + "."]
    if problem.detail:
        words.append(problem.detail)
    reasons = problem.extra.get("reasons")
    if reasons:
        codes = [str(r.get("code")) for r in reasons if isinstance(r, dict) and r.get("code")]
        words.append("Reasons: " + ", ".join(codes) + ".")
    for member in ("field", "scope"):
        if isinstance(problem.extra.get(member), str):
            words.append(f"{member.capitalize()}: {problem.extra[member]}.")
    allowed = problem.extra.get("allowed")
    if isinstance(allowed, list) and allowed and all(isinstance(a, str) for a in allowed):
        words.append("Allowed: " + ", ".join(allowed[:50]) + ".")
    return " ".join(words)


def outcome(problem: Problem) -> OperationOutcome:
    issue_type = ISSUE_TYPE_BY_CODE.get(problem.code) or ISSUE_TYPE.get(problem.status)
    codings = [Coding(system=PROBLEM_SYSTEM, code=problem.code, display=problem.title)]
    reasons: list[Any] = problem.extra.get("reasons") or []
    codings += [
        Coding(system=f"{PROBLEM_SYSTEM}/reason", code=str(r["code"]))
        for r in reasons
        if isinstance(r, dict) and r.get("code")
    ]
    return OperationOutcome(
        issue=[
            OperationOutcomeIssue(
                severity="error" if problem.status < 500 else "fatal",
                code=issue_type or "exception",
                details=CodeableConcept(coding=codings, text=problem.title),
                diagnostics=_diagnostics(problem),
            )
        ]
    )


def render(problem: Problem, request: Request) -> Response:
    """`hub.api.problem_handlers`' renderer for the facade's paths."""
    return fhir_response(outcome(problem), problem.status, headers=problem.headers)
