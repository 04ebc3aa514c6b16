"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from hub import __version__
from hub.api import problems
from hub.auth import routes as auth_routes
from hub.ops import routes as ops_routes
from hub.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Referral hub",
        version=__version__,
        summary="Interagency referrals and data sharing, gated by recorded informed consent.",
    )
    app.state.runtime = runtime
    problems.install(app)
    app.include_router(ops_routes.router)
    auth_routes.install(app)
    return app
