"""JSON the hub cannot hold, refused before any route reads it.

Python's JSON parser accepts what RFC 8259 does not promise to carry: a lone surrogate
(`"\\ud800"`, which has no UTF-8 form: encrypting or storing it fails, a 500), the NUL
character (`"\\u0000"`, which PostgreSQL's text cannot hold: a 500 there, not on SQLite),
and NaN, Infinity or numbers too large for a float (stored, then answered as `null`: data
silently changed). Every request whose body FastAPI would read as JSON (a JSON media type,
`+json`, or none at all) is checked here once, for every route, present and future: 422
`invalid_text` or `invalid_number`, with the place but never the value. Malformed JSON
is left to FastAPI (400 `malformed_json`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.problems import MEDIA_TYPE, Problem

INVALID_TEXT = "invalid_text"
INVALID_NUMBER = "invalid_number"


class _NotFinite(ValueError):
    pass


def _refuse_constant(name: str) -> float:
    raise _NotFinite(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _is_json(headers: Headers) -> bool:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    # FastAPI reads a body without a content type as JSON too
    return media_type in ("", "application/json") or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


# the parser joins valid pairs into one character: any surrogate left is alone
_UNHOLDABLE = re.compile("[\x00\ud800-\udfff]")


def _unholdable(text: str) -> bool:
    # one search in C, not a Python loop over each character of every string of the body
    return _UNHOLDABLE.search(text) is not None


def _text_problem(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _unholdable(item):
                return True
        elif isinstance(item, dict):
            for key, inner in item.items():
                if _unholdable(key):
                    return True
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def check(body: bytes) -> Problem | None:
    """The problem with a JSON body, if it is one the hub cannot hold (see the module)."""
    try:
        value = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite)
    except _NotFinite:
        return Problem(
            422,
            INVALID_NUMBER,
            "The request body holds a number that is not finite",
            "NaN, Infinity and numbers beyond a double's range are not JSON numbers.",
        )
    except UnicodeDecodeError:
        return _invalid_text()
    except ValueError:
        return None  # malformed: FastAPI answers it
    if _text_problem(value):
        return _invalid_text()
    return None


def _invalid_text() -> Problem:
    return Problem(
        422,
        INVALID_TEXT,
        "The request body holds text the hub cannot store",
        "Text must be UTF-8 without NUL characters (\\u0000); a lone surrogate (such as "
        "\\ud800) is not a character.",
    )


class StrictJsonBody:
    """ASGI middleware: read a JSON body, check it, then hand the same bytes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                # the client went away: let the app see it as it would have
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        problem = check(body) if body else None
        if problem is not None:
            response = JSONResponse(
                problem.document(scope["path"]), status_code=problem.status, media_type=MEDIA_TYPE
            )
            await response(scope, receive, send)
            return
        request: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([request], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
