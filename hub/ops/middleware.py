"""ASGI middleware: request ids, the access log, metrics, the last-resort 500, body limits.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, so streaming bodies and the request-id
context variable behave, and so an unhandled error is answered here, inside the request's
context, instead of escaping to the server (whose log line would carry the error's text).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.problem_handlers import problem_response, unexpected_problem
from hub.api.problems import Problem
from hub.ops.logging import request_id_var
from hub.ops.metrics import UNMATCHED_ROUTE, Metrics

access_log = logging.getLogger("hub.access")
error_log = logging.getLogger("hub.api")

REQUEST_ID_HEADER = "X-Request-ID"
# sane ids from a proxy or client (UUIDs, hex, dotted trace ids); anything else is replaced
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def accept_request_id(value: str | None) -> str:
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def route_template(scope: Scope, root_path: str) -> str:
    """The matched route's template (`/v1/cases/{case_id}`), never the raw path."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return UNMATCHED_ROUTE
    # a mounted app's routes are relative to its mount point
    prefix = scope.get("root_path", "")[len(root_path) :]
    return prefix + template


class RequestContextMiddleware:
    """`metrics(scope)`: the metrics of the app the request reached (the app's runtime can be
    replaced, `hub.app.bind`, and its metrics with it)."""

    def __init__(self, app: ASGIApp, metrics: Callable[[Scope], Metrics]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        token = request_id_var.set(request_id)
        root_path = scope.get("root_path", "")
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            problem = unexpected_problem(exc, error_log)
            if response_started:
                raise
            status = problem.status
            await _answer(scope, receive, send_with_id, problem)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope, root_path)
            self.metrics(scope).observe(
                method=scope["method"], route=route, status=status, seconds=seconds
            )
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            request_id_var.reset(token)


class PayloadTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes(scope)`: up front by Content-Length, else by counting
    chunks (the limit is a setting of the app's runtime, read for each request).

    Counting raises PayloadTooLarge from `receive`, which FastAPI's body parsing re-raises as
    an HTTP error, so the app's problem handler answers it like any other 413.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: Callable[[Scope], int], exempt: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # path patterns whose routes stream and limit their own (larger) bodies, such as
        # consent evidence uploads
        self.exempt = [re.compile(pattern) for pattern in exempt]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(p.match(scope["path"]) for p in self.exempt):
            await self.app(scope, receive, send)
            return
        # the server refuses a malformed Content-Length itself; counting covers a lying one
        max_bytes = self.max_bytes(scope)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            await _answer(scope, receive, send, _too_large())
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise PayloadTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except PayloadTooLarge:
            # raised where nothing turned it into a response (e.g. a middleware reading it)
            if response_started:
                raise
            await _answer(scope, receive, send, _too_large())


def _too_large() -> Problem:
    return Problem(413, "payload_too_large", "Request body too large")


async def _answer(scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
    response = problem_response(problem, Request(scope))
    await response(scope, receive, send)
