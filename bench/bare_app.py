"""The baseline for bench/referrals.py: a bare FastAPI app doing one authenticated INSERT.

    .venv/bin/uvicorn --app-dir bench --factory bare_app:create_app --port 8001

Settings come from the same `HUB_*` variables as the hub it is compared with (database, data
folder with the keyring, public URL), so it verifies the hub's own access tokens with the hub's
own dependency (`hub.access.deps.require_scope`: signature, claims, revocation, client lookup) in
the same per-request transaction (`hub.api.deps.DbSession`), on an engine made the same way.
What it leaves out is everything a referral does after authentication: that difference is what
the benchmark measures. The table it writes to is created by bench/referrals.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, status
from sqlalchemy import text

from hub.access.deps import Principal, require_scope
from hub.api import problem_handlers
from hub.api.deps import DbSession
from hub.runtime import Runtime
from hub.settings import load_settings

TABLE = "bench_inserts"
# the scope the hub's POST /v1/referrals requires, so both sides check the same thing
Writer = Annotated[Principal, Depends(require_scope("referrals:write"))]
INSERT = text(
    f"INSERT INTO {TABLE} (organization_id, client_id, body) "  # TABLE is a constant
    "VALUES (:organization_id, :client_id, CAST(:body AS jsonb)) RETURNING id"
)


def create_app() -> FastAPI:
    runtime = Runtime(load_settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        runtime.dispose()

    app = FastAPI(title="bench: bare insert", lifespan=lifespan)
    app.state.runtime = runtime
    # a refused token answers the hub's 401 problem, not a 500
    problem_handlers.install(app)

    @app.post("/insert", status_code=status.HTTP_201_CREATED)
    def insert(
        principal: Writer, db: DbSession, body: Annotated[dict[str, Any], Body()]
    ) -> dict[str, int]:
        # the hub answers a created referral with a small JSON document: so does this
        inserted = db.execute(
            INSERT,
            {
                "organization_id": principal.organization_id,
                "client_id": principal.client_id,
                "body": json.dumps(body),
            },
        ).scalar_one()
        return {"id": inserted}

    return app
