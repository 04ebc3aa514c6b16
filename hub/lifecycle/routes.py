"""The parties' move routes, made from a lifecycle table instead of written out one by one.

Each sender's or recipient's move in a table becomes `POST {prefix}/{id}/{action}`: the object
is loaded for the caller's organisation and locked (the domain's dependency, `loaded`), the
domain's `apply` makes the move (the
table decides whether it is legal, `hub.lifecycle.check`), and the answer is the object's
summary for that party. Every route takes an `Idempotency-Key`. A move whose table entry asks
for a reason takes a body with that one member (`reason`, or what the move calls it: a
referral's `complete` takes an `outcome`), and beside it the code `<member>_code` when the
domain's body for that action has one (`action_bodies`: a referral's `reason_code`,
`outcome_code`); the others take an empty object or nothing.
Moves with more to them than a status change (a transfer's `accept`, a `resubmit`) keep a route
of their own: name them in `own_routes`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.orm import Session

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.idempotency import Answer, IdempotencyKey, idempotent
from hub.auth.tokens import Principal
from hub.lifecycle.tables import Move, Party
from hub.services import Services

T = TypeVar("T")

# the parties whose moves are routes: a request's two sides, and a case's owner
PARTIES = (Party.sender, Party.recipient, Party.owner)


@dataclass(frozen=True)
class MoveRoutes(Generic[T]):
    """How a domain's objects are found, moved and shown, for its generated move routes."""

    table: dict[str, Move]
    id_name: str  # the path parameter: "referral_id"
    caller: Any  # the dependency giving the Principal (with the write scope)
    # the dependency giving the object in the path for the caller's organisation, locked (404
    # for another organisation's: the condition is in its query)
    loaded: Any
    # (..., the move's body: `said` gives its words, `coded` the code beside them)
    apply: Callable[[Session, Services, T, str, Principal, BaseModel | None], None]
    answer: Callable[[T, str], BaseModel]  # (object, organisation) → the party's summary
    response_model: type[BaseModel]
    # the body of each kind of move: "" (nothing to say) and each member a move may ask for
    # ("reason" → a model with one optional `reason`)
    bodies: dict[str, type[BaseModel]]
    # a body of its own for an action (a referral's `decline` takes a `reason_code` too)
    action_bodies: dict[str, type[BaseModel]] = field(default_factory=dict)

    def body_of(self, move: Move, action: str = "") -> type[BaseModel]:
        if action in self.action_bodies:
            return self.action_bodies[action]
        return self.bodies[move.says if move.reason_required else ""]

    def actions(self, own_routes: Iterable[str]) -> list[str]:
        skip = set(own_routes)
        return [a for a, m in self.table.items() if m.party in PARTIES and a not in skip]


def said(body: BaseModel | None, move: Move) -> str | None:
    """The words a move's body gives (its `reason`, or what the move calls it)."""
    return getattr(body, move.says, None) if body is not None else None


def coded(body: BaseModel | None, move: Move) -> str | None:
    """The code beside them (`<member>_code`), when the body has one."""
    return getattr(body, f"{move.says}_code", None) if body is not None else None


def add_move_routes(router: APIRouter, spec: MoveRoutes[T], *, own_routes: Iterable[str]) -> None:
    for action in spec.actions(own_routes):
        _add(router, spec, action)


def _add(router: APIRouter, spec: MoveRoutes[T], action: str) -> None:
    move = spec.table[action]
    body_model = spec.body_of(move, action)

    def endpoint(**kwargs: Any) -> Answer:
        principal: Principal = kwargs["principal"]
        body: BaseModel | None = kwargs["body"]
        obj = kwargs["obj"]
        spec.apply(kwargs["db"], kwargs["runtime"], obj, action, principal, body)
        return Answer(200, spec.answer(obj, principal.organization_id))

    keyword = inspect.Parameter.KEYWORD_ONLY
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("principal", keyword, annotation=spec.caller),
            inspect.Parameter("obj", keyword, annotation=spec.loaded),
            inspect.Parameter("db", keyword, annotation=DbSession),
            inspect.Parameter("runtime", keyword, annotation=CurrentRuntime),
            inspect.Parameter("idem", keyword, annotation=IdempotencyKey),
            inspect.Parameter("body", keyword, annotation=body_model | None, default=None),
        ],
        return_annotation=Answer,
    )
    endpoint.__name__ = action
    endpoint.__doc__ = _describe(action, move)
    router.add_api_route(
        f"/{{{spec.id_name}}}/{action}",
        idempotent(endpoint),
        methods=["POST"],
        name=action,
        response_model=spec.response_model,
    )


def _describe(action: str, move: Move) -> str:
    sources = ", ".join(f"`{s}`" for s in sorted(move.sources))
    words = f" It needs a `{move.says}`." if move.reason_required else ""
    return (
        f"The {move.party}'s move `{action}`: from {sources} to `{move.target}` "
        f"(otherwise 409 `invalid_transition`).{words}"
    )
