"""The OpenAPI document of the process's one app, made once per process rather than per test.

`hub.app.bind` clears the document (it lists the bound runtime's vocabularies), so each test
that read `app.openapi()` made it again: about half a second of CPU each time (FastAPI writes
the JSON Schema of every model), more than many of those tests' own requests. The document
depends on nothing but the app's routes and the bound policy's vocabularies: `share_document`
keeps one made document per (routes, vocabularies) and gives each test a copy of its own, so a
test that changes its copy changes nobody else's.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

from fastapi import FastAPI

from hub.api import vocabulary


def share_document(app: FastAPI) -> None:
    """`app.openapi()` made by the app's own (`hub.api.openapi.install`) the first time for
    its routes and its runtime's vocabularies, then copied from that one."""
    make = app.openapi
    made: dict[tuple[tuple[int, ...], str], bytes] = {}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            vocabularies = vocabulary.as_lists(app.state.runtime.policy)
            key = (tuple(id(route) for route in app.routes), json.dumps(vocabularies))
            document = made.get(key)
            if document is None:
                made[key] = pickle.dumps(make())
            else:
                app.openapi_schema = pickle.loads(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
