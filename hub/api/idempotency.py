"""`Idempotency-Key` on mutating POSTs: a retry gets the first answer, not a second effect.

The record is written in the request's own transaction, so an answer is remembered exactly
when its effect was committed. Keys are per client. The same key with another body (or on
another route) is 422 `idempotency_key_reused`. Responses remembered here carry ids, codes and
statuses only: routes that use it must not return personal data from a POST, or must say what
to remember instead (`Answer.remembered`) and how a replay reads the answer afresh (`reread`).

A route takes it by one decorator, `@idempotent`, under its `@router.post`: the route then
returns an `Answer` (its status and body) and the decorator replays or remembers it.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec

from fastapi import Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.api.models import IdempotencyRecord
from hub.api.problems import MEDIA_TYPE, Conflict, Problem, Unprocessable
from hub.clock import utcnow
from hub.db.inserts import insert_into

MAX_KEY_LENGTH = 255
REPLAYED = {"Idempotent-Replayed": "true"}

P = ParamSpec("P")


# built once, the columns only: every POST with a key asks it (mostly to hear "none")
_REMEMBERED = select(
    IdempotencyRecord.method,
    IdempotencyRecord.path,
    IdempotencyRecord.request_sha256,
    IdempotencyRecord.status_code,
    IdempotencyRecord.response_body,
).where(
    IdempotencyRecord.client_id == bindparam("client_id"),
    IdempotencyRecord.key == bindparam("key"),
)


class Idempotency:
    def __init__(self, key: str | None, method: str, path: str, body_sha256: str) -> None:
        self.key = key
        self.method = method
        self.path = path
        self.body_sha256 = body_sha256

    def replay(self, *, db: Session, client_id: str) -> JSONResponse | None:
        """The remembered answer for this key, or None when the request is new."""
        if self.key is None:
            return None
        # on the session's connection, not through the ORM's execution (and its autoflush):
        # columns only, and records are only ever written by plain INSERTs (`remember`)
        record = (
            db.connection().execute(_REMEMBERED, {"client_id": client_id, "key": self.key}).first()
        )
        if record is None:
            return None
        if (record.method, record.path, record.request_sha256) != (
            self.method,
            self.path,
            self.body_sha256,
        ):
            raise Unprocessable(
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request",
            )
        return _answer(record.response_body, record.status_code, headers=REPLAYED)

    def remember(
        self, *, db: Session, client_id: str, status_code: int, body: BaseModel
    ) -> JSONResponse:
        """Record the answer (if a key was given) and return it."""
        # what `jsonable_encoder` gives for a model, without its second walk over the result
        content: dict[str, Any] = body.model_dump(mode="json", by_alias=True)
        if self.key is not None:
            try:
                # a plain INSERT, not the unit of work (nothing reads the record back in this
                # transaction); sent now, so two concurrent first uses of one key collide
                # here, not at commit
                db.connection().execute(
                    insert_into(IdempotencyRecord.__table__),
                    {
                        "client_id": client_id,
                        "key": self.key,
                        "method": self.method,
                        "path": self.path,
                        "request_sha256": self.body_sha256,
                        "status_code": status_code,
                        "response_body": content,
                        "created_at": utcnow(),
                    },
                )
            except IntegrityError:
                raise Conflict(
                    "idempotency_key_in_use",
                    "Another request with this Idempotency-Key is being processed",
                ) from None
        return _answer(content, status_code)


def _answer(content: Any, status_code: int, headers: dict[str, str] | None = None) -> JSONResponse:
    # a refusal, first given or replayed, is a problem document (RFC 9457)
    media_type = MEDIA_TYPE if status_code >= 400 else None
    return JSONResponse(content, status_code=status_code, headers=headers, media_type=media_type)


async def idempotency(
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=MAX_KEY_LENGTH)] = None,
) -> Idempotency:
    if idempotency_key is not None and not idempotency_key.strip():
        raise Problem(400, "invalid_idempotency_key", "The Idempotency-Key header is empty")
    body = await request.body()
    return Idempotency(
        idempotency_key,
        request.method,
        request.url.path,
        hashlib.sha256(body).hexdigest(),
    )


IdempotencyKey = Annotated[Idempotency, Depends(idempotency)]


@dataclass(frozen=True)
class Answer:
    """What an idempotent route answers: a status and a body, remembered for a retry."""

    status_code: int
    body: BaseModel
    # remembered instead of the body when the body carries personal data: a replay is then
    # the route's `reread` of it
    remembered: BaseModel | None = None


# (the route's arguments, what was remembered) → the answer's body, read afresh
Reread = Callable[[dict[str, Any], dict[str, Any]], BaseModel]


def idempotent(route: Callable[P, Answer] | None = None, *, reread: Reread | None = None) -> Any:
    """Make a route idempotent by its `Idempotency-Key`: a retry gets the first answer (with
    `Idempotent-Replayed: true`) and the route does not run again; a first call runs it and
    remembers its `Answer` in the request's transaction. The route takes `db` (`DbSession`),
    `idem` (`IdempotencyKey`) and `principal` (whose `client_id` keys are kept per)."""

    def wrap(route: Callable[P, Answer]) -> Callable[P, Response]:
        # evaluated, so FastAPI reads the route's own types here (its annotations are strings
        # in a module with `from __future__ import annotations`)
        signature = inspect.signature(route, eval_str=True)
        missing = {"db", "idem", "principal"} - set(signature.parameters)
        if missing:
            raise TypeError(f"{route.__name__} needs the parameters {sorted(missing)}")

        @functools.wraps(route)
        def endpoint(*args: P.args, **kwargs: P.kwargs) -> Response:
            db: Session = kwargs["db"]  # type: ignore[assignment]
            idem: Idempotency = kwargs["idem"]  # type: ignore[assignment]
            client_id: str = kwargs["principal"].client_id  # type: ignore[attr-defined]
            if (replay := idem.replay(db=db, client_id=client_id)) is not None:
                if reread is None:
                    return replay
                body = reread(dict(kwargs), json.loads(replay.body))
                return _answer(jsonable_encoder(body), replay.status_code, headers=REPLAYED)
            answer = route(*args, **kwargs)
            remembered = idem.remember(
                db=db,
                client_id=client_id,
                status_code=answer.status_code,
                body=answer.remembered or answer.body,
            )
            if answer.remembered is None:
                return remembered
            return _answer(jsonable_encoder(answer.body), answer.status_code)

        endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
            return_annotation=Response
        )
        return endpoint

    return wrap if route is None else wrap(route)
