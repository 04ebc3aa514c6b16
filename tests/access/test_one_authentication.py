"""A request authenticates its caller once: a route and the loaders of its objects that
require the same scope share one dependency, which FastAPI solves once per request."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from hub.app import build


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also those of included routers (which FastAPI includes lazily)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)


def _dependencies(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependencies(sub)


def test_each_scope_is_one_dependency_in_every_route() -> None:
    doubled: dict[str, list[str]] = {}
    routes = list(_routes(build().routes))
    checked = 0
    for route in routes:
        by_scope: defaultdict[str, set[int]] = defaultdict(set)
        for call in _dependencies(route.dependant):
            scope = getattr(call, "required_scope", None)
            if scope is not None:
                by_scope[scope].add(id(call))
        checked += bool(by_scope)
        for scope, calls in by_scope.items():
            if len(calls) > 1:
                doubled.setdefault(f"{sorted(route.methods)} {route.path}", []).append(scope)
    assert checked > 50  # the walk reaches the scopes
    assert doubled == {}, f"routes that would authenticate twice: {doubled}"
