"""The API's error answers: a raised `Problem`, a refused request body, Starlette's own HTTP
errors and anything unexpected, each as an RFC 9457 document (`application/problem+json`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.api.json_body import StrictJsonBody
from hub.api.problems import MEDIA_TYPE, Problem
from hub.db.transient import is_transient
from hub.wording import plain_message

log = logging.getLogger("hub.api")

INTERNAL_ERROR = Problem(500, "internal_error", "Internal error")
# the code is OAuth's (RFC 6749, 4.1.2.1) for the same situation
TEMPORARILY_UNAVAILABLE = Problem(
    503,
    "temporarily_unavailable",
    "The hub could not finish this request now",
    "Nothing of it was saved. Send the same request again (with the same Idempotency-Key).",
    headers={"Retry-After": "1"},
)


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    # the path only, never the query string: identifiers in it could be personal data
    instance = request.url.path if request is not None else None
    return JSONResponse(
        problem.document(instance),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=problem.headers,
    )


_HTTP_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    413: ("payload_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("rate_limited", "Too many requests"),
}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # location and message only: the rejected input may be personal data
    return [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": plain_message(err),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]


def _summary(errors: list[dict[str, Any]]) -> str:
    # the first error in a sentence, for a person reading the problem rather than a program
    first = errors[0]
    where = ".".join(first["loc"][1:] if len(first["loc"]) > 1 else first["loc"])
    more = f" (and {len(errors) - 1} more: see errors)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}" if where else f"{first['msg']}{more}"


# another face's way of saying a problem (the FHIR facade's OperationOutcome), by path prefix
Renderer = Callable[[Problem, Request], Response]


def install(app: FastAPI, renderers: Mapping[str, Renderer] | None = None) -> None:
    """The API's error answers, and the one check of JSON bodies (`hub.api.json_body`).

    `renderers`: a path prefix and how problems under it are answered instead of RFC 9457
    (the same problems, the same statuses and codes: only their document differs)."""
    # added first, so it runs innermost: under the body size limit and the request context
    app.add_middleware(StrictJsonBody)
    faces = dict(renderers or {})

    def answer(problem: Problem, request: Request) -> Response:
        for prefix, render in faces.items():
            if request.url.path == prefix or request.url.path.startswith(prefix + "/"):
                return render(problem, request)
        return problem_response(problem, request)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return answer(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            problem = Problem(400, "malformed_json", "The request body is not valid JSON")
        else:
            problem = Problem(
                422,
                "validation_error",
                "The request is not valid",
                _summary(errors) if errors else None,
                errors=errors,
            )
        return answer(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "HTTP error"))
        headers = dict(exc.headers or {})
        problem = Problem(exc.status_code, code, title, headers=headers)
        return answer(problem, request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return answer(unexpected_problem(exc, log), request)


def unexpected_problem(exc: BaseException, logger: logging.Logger) -> Problem:
    """What an exception nothing else answered becomes, logged by its type and frames (its
    text may quote data): 503 `temporarily_unavailable` when the database refused the
    transaction for now (a deadlock's victim, a busy database: it was rolled back whole, and
    the same request, with the same Idempotency-Key, can be sent again), else 500
    `internal_error`."""
    if is_transient(exc):
        logger.warning("transaction refused for now", exc_info=exc)
        return TEMPORARILY_UNAVAILABLE
    logger.error("unhandled error", exc_info=exc)
    return INTERNAL_ERROR
