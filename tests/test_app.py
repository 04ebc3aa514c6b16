"""One app, built once, serving one runtime after another (`hub.app.build` and `bind`)."""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import hub.app
from hub.app import bind, build
from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from tests.support.api import partner


def _runtime(
    tmp_path: Path, settings: Settings, name: str, keys_of: Runtime | None, **overrides: object
) -> Runtime:
    """A runtime on the same database with settings of its own; its data folder (the keys that
    wrap the database's) a copy of `keys_of`'s."""
    data_dir = tmp_path / name
    if keys_of is None:
        data_dir.mkdir(mode=0o700)
    else:
        shutil.copytree(keys_of.settings.data_dir, data_dir)
    return Runtime(
        load_settings(
            data_dir=data_dir,
            database_url=settings.database_url,
            outbox_dispatch_on_commit=False,
            **overrides,
        )
    )


def _lifetime(token: str) -> int:
    """The seconds an access token lives (its claims, read without checking the signature)."""
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return int(claims["exp"]) - int(claims["iat"])


def test_binding_another_runtime_replaces_all_that_was_made_from_the_first(
    tmp_path: Path, settings: Settings
) -> None:
    first = _runtime(tmp_path, settings, "first", None, max_body_bytes=2_000)
    second: Runtime | None = None
    app = build()
    try:
        with TestClient(bind(app, first)) as api:
            iom = partner(first, api, "IOM Niamey", kind="iom_office")
            big = {"external_ref": "x" * 5_000, "subject": {"birth_date": "1990-01-01"}}
            too_large = api.post("/v1/cases", json=big, headers=iom.headers)
            assert (too_large.status_code, too_large.json()["code"]) == (413, "payload_too_large")
            assert 'status="413"' in api.get("/metrics").text

        second = _runtime(
            tmp_path, settings, "second", first, max_body_bytes=200_000, access_token_seconds=120
        )
        with TestClient(bind(app, second)) as api:
            ngo = partner(second, api, "Partner NGO")
            # tokens as each runtime's settings say
            assert _lifetime(iom.token) == first.settings.access_token_seconds != 120
            assert _lifetime(ngo.token) == 120
            # the second runtime's body limit, not the first's
            bigger = api.post("/v1/cases", json=big, headers=ngo.headers)
            assert bigger.status_code != 413, bigger.text
            # the second runtime's metrics: nothing of the first's requests
            assert 'status="413"' not in api.get("/metrics").text
            assert app.state.runtime is second
    finally:
        first.dispose()
        if second is not None:
            second.dispose()


def _leaves(routes: list[Any]) -> Iterator[Any]:
    """Every route that matches a path (with its full path), through the included routers."""
    for route in routes:
        if hasattr(route, "effective_candidates"):
            yield from _leaves(route.effective_candidates())
        else:
            yield route


def _sample(path_format: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path_format)


def _collide(a: Any, b: Any) -> bool:
    """Whether some request could match both routes (one path, a method of both)."""
    methods_a, methods_b = getattr(a, "methods", None), getattr(b, "methods", None)
    if methods_a is not None and methods_b is not None and not set(methods_a) & set(methods_b):
        return False
    return bool(
        a.path_regex.match(_sample(b.path_format)) or b.path_regex.match(_sample(a.path_format))
    )


def test_matching_the_busiest_routers_first_changes_no_route_a_request_reaches(
    monkeypatch: pytest.MonkeyPatch, api: TestClient
) -> None:
    """`hub.app.HOT_ROUTERS` are tried before routers declared ahead of them: the same app as
    long as no request could match a route of each of two routers whose order changed."""
    matched = build()
    monkeypatch.setattr(hub.app, "match_hot_first", lambda app, routers: None)
    declared = build()

    def key(route: Any) -> object:
        original = getattr(route, "original_router", None)
        return id(original) if original is not None else route.path

    position = {key(route): i for i, route in enumerate(matched.router.routes)}
    routers = [(position[key(route)], list(_leaves([route]))) for route in declared.router.routes]
    inverted = 0
    for i, (was_at, leaves) in enumerate(routers):
        for now_at, later_leaves in routers[i + 1 :]:
            if now_at < was_at:
                inverted += 1
                for a in leaves:
                    for b in later_leaves:
                        assert not _collide(a, b), (a.path_format, b.path_format)
    assert inverted > 0
    # the document keeps the declared order
    paths = list(api.get("/openapi.json").json()["paths"])
    assert paths.index("/v1/cases") < paths.index("/v1/referrals")
