"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from hub import __version__
from hub.api import openapi, problem_handlers, vocabulary
from hub.audit.tasks import stale_after
from hub.auth import routes as auth_routes
from hub.cases import routes as case_routes
from hub.consent import routes as consent_routes
from hub.console.install import UPLOAD_PATHS as CONSOLE_UPLOAD_PATHS
from hub.console.install import install as install_console
from hub.delivery import routes as delivery_routes
from hub.directory import routes as directory_routes
from hub.disclosures import routes as disclosure_routes
from hub.erasure import routes as erasure_routes
from hub.ops import routes as ops_routes
from hub.ops.logging import configure_logging
from hub.ops.metrics import Metrics
from hub.ops.middleware import BodyLimitMiddleware, RequestContextMiddleware
from hub.referrals import routes as referral_routes
from hub.reports import routes as report_routes
from hub.reviews import routes as review_routes
from hub.runtime import Runtime
from hub.service_directory import routes as service_directory_routes
from hub.transfers import routes as transfer_routes


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Referral hub",
        version=__version__,
        summary="Interagency referrals and data sharing, gated by recorded informed consent.",
    )
    configure_logging(runtime.settings.log_level)
    # loaded now so a malformed policy file stops start-up (PolicyError names the line)
    runtime.policy  # noqa: B018
    app.state.runtime = runtime
    app.state.metrics = Metrics(runtime.sessions, audit_stale_after=stale_after(runtime.settings))
    problem_handlers.install(app)
    # the last added runs first: request context wraps the body limit so a 413 is logged too
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=runtime.settings.max_body_bytes,
        exempt=[consent_routes.EVIDENCE_PATH, *CONSOLE_UPLOAD_PATHS],
    )
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    app.include_router(ops_routes.router)
    auth_routes.install(app)
    app.include_router(directory_routes.router)
    app.include_router(service_directory_routes.router)
    app.include_router(case_routes.router)
    app.include_router(erasure_routes.router)
    app.include_router(review_routes.router)
    app.include_router(consent_routes.router)
    app.include_router(referral_routes.router)
    app.include_router(transfer_routes.router)
    app.include_router(report_routes.router)
    app.include_router(disclosure_routes.router)
    app.include_router(delivery_routes.router)
    install_console(app)
    openapi.install(app, vocabulary.as_lists(runtime.policy))
    return app


def from_environment() -> FastAPI:
    """The app of one server process of `hub serve --workers N`: uvicorn imports and calls this
    in each process it starts, which reads the same settings (HUB_ variables) as its parent."""
    # every model before the first query (the CLI's `runtime()` does the same)
    import hub.models  # noqa: F401
    from hub.settings import load_settings

    return create_app(Runtime(load_settings()))
