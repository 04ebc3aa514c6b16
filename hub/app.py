"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute
from starlette.types import Scope

from hub import __version__
from hub.api import openapi, problem_handlers, vocabulary
from hub.audit.tasks import stale_after
from hub.auth import clients
from hub.auth import routes as auth_routes
from hub.cases import routes as case_routes
from hub.closure import routes as closure_routes
from hub.consent import routes as consent_routes
from hub.console.install import UPLOAD_PATHS as CONSOLE_UPLOAD_PATHS
from hub.console.install import bind as bind_console
from hub.console.install import install as install_console
from hub.delivery import routes as delivery_routes
from hub.directory import routes as directory_routes
from hub.disclosures import routes as disclosure_routes
from hub.erasure import routes as erasure_routes
from hub.fhir import outcomes as fhir_outcomes
from hub.fhir import routes as fhir_routes
from hub.legal_bases import routes as legal_basis_routes
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
from hub.transfers.requests import routes as transfer_request_routes
from hub.users import service as users


def create_app(runtime: Runtime) -> FastAPI:
    """The hub's app, serving `runtime`."""
    return bind(build(), runtime)


def build() -> FastAPI:
    """The app's routes, handlers and middleware: all that no runtime changes.

    FastAPI works out a router's parameters and models when a request first reaches it, a
    tenth of a second or more over the whole app. An app built once can serve another runtime
    (`bind`) without doing that again: the tests bind each test's runtime to their process's
    one app.
    """
    app = FastAPI(
        title="Referral hub",
        version=__version__,
        summary="Interagency referrals and data sharing, gated by recorded informed consent.",
    )
    # the FHIR facade answers the same problems as OperationOutcomes
    problem_handlers.install(app, {fhir_routes.BASE: fhir_outcomes.render})
    # the last added runs first: request context wraps the body limit so a 413 is logged too
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=_max_body_bytes,
        exempt=[consent_routes.EVIDENCE_PATH, *CONSOLE_UPLOAD_PATHS],
    )
    app.add_middleware(RequestContextMiddleware, metrics=_metrics)
    app.include_router(ops_routes.router)
    auth_routes.install(app)
    app.include_router(directory_routes.router)
    app.include_router(service_directory_routes.router)
    app.include_router(case_routes.router)
    app.include_router(erasure_routes.router)
    app.include_router(closure_routes.router)
    app.include_router(review_routes.router)
    app.include_router(consent_routes.router)
    app.include_router(referral_routes.router)
    app.include_router(transfer_routes.router)
    app.include_router(transfer_request_routes.router)
    app.include_router(report_routes.router)
    app.include_router(disclosure_routes.router)
    app.include_router(legal_basis_routes.router)
    app.include_router(delivery_routes.router)
    app.include_router(fhir_routes.router)
    install_console(app)
    declared = list(app.routes)
    match_hot_first(app, HOT_ROUTERS)

    def documented() -> list[BaseRoute]:
        # in the order declared above; routes added to the app later (tests' probes) after them
        known = {id(route) for route in declared}
        return declared + [route for route in app.routes if id(route) not in known]

    openapi.install(app, lambda: vocabulary.as_lists(app.state.runtime.policy), documented)
    return app


# The routers of the busiest API requests (a referral made, a consent recorded, a case
# created, the inbox): a request tries the app's routers one by one, each trying its routes,
# and a referral's POST went through some forty routes of the nine routers declared before it
# (6% of its CPU). Moving a router ahead changes no answer as long as none of its routes matches
# a path that a route it moves ahead of matches (tests/test_app.py checks every route's path).
HOT_ROUTERS = (referral_routes.router, consent_routes.router, case_routes.router)


def match_hot_first(app: FastAPI, routers: tuple[APIRouter, ...]) -> None:
    """Try `routers` first when matching a request (in their given order), then the others in
    the order they were declared."""
    order = {id(router): i for i, router in enumerate(routers)}

    def rank(route: BaseRoute) -> int:
        original = getattr(route, "original_router", None)
        return order.get(id(original), len(order))

    # sorted() keeps the declared order among the routes of the same rank
    app.router.routes[:] = sorted(app.router.routes, key=rank)
    # FastAPI caches what each router matches against by a version of its routes
    app.router._mark_routes_changed()


def bind(app: FastAPI, runtime: Runtime) -> FastAPI:
    """`app` (made by `build`) now serves `runtime`: everything the app holds that is made from
    a runtime is made here, and binding again replaces all of it."""
    configure_logging(runtime.settings.log_level)
    # loaded now so a malformed policy file stops start-up (PolicyError names the line)
    runtime.policy  # noqa: B018
    app.state.runtime = runtime
    # the hashes an unknown account's or client's secret is checked against, made before the
    # first request so that the first miss costs what every other does
    users.dummy_hash()
    clients.dummy_hash()
    app.state.metrics = Metrics(runtime.sessions, audit_stale_after=stale_after(runtime.settings))
    auth_routes.bind(app)
    bind_console(app, runtime.settings)
    # the document lists the policy's vocabularies
    app.openapi_schema = None
    return app


def _max_body_bytes(scope: Scope) -> int:
    return int(scope["app"].state.runtime.settings.max_body_bytes)


def _metrics(scope: Scope) -> Metrics:
    metrics: Metrics = scope["app"].state.metrics
    return metrics


def from_environment() -> FastAPI:
    """The app of one server process of `hub serve --workers N`: uvicorn imports and calls this
    in each process it starts, which reads the same settings (HUB_ variables) as its parent."""
    # every model before the first query (the CLI's `runtime()` does the same)
    import hub.models  # noqa: F401
    from hub.settings import load_settings

    return create_app(Runtime(load_settings()))
