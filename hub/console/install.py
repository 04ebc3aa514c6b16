"""Mounting the console on the hub's app: its pages, its stylesheet and its headers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from hub.console import (
    admin_agreements,
    admin_channels,
    admin_clients,
    admin_deliveries,
    admin_organisations,
    admin_people,
    board,
    case_closing,
    case_form,
    cases,
    consent_form,
    consent_upload,
    consent_withdrawal,
    consents,
    home,
    inbox,
    notices,
    offers,
    person_notices,
    received_erasure,
    refer,
    reports,
    reviews,
    security,
    service_directory,
    service_edit,
    signin,
    statement,
    supervision,
    transfer_requests,
    transfers,
)
from hub.settings import Settings
from hub.users import signin as signin_service

STATIC = Path(__file__).parent / "static"
# forms that carry a scanned consent form: they hold their own size limit
UPLOAD_PATHS = consent_upload.UPLOAD_PATHS


def install(app: FastAPI) -> None:
    app.add_middleware(security.ConsoleHeadersMiddleware)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(home.router)
    app.include_router(notices.router)
    app.include_router(person_notices.router)
    app.include_router(signin.router)
    app.include_router(reviews.router)
    app.include_router(statement.router)
    app.include_router(refer.router)
    # before the inbox: its `/{id}/{action}` would take `/{id}/erasure`
    app.include_router(received_erasure.router)
    app.include_router(inbox.router)
    app.include_router(offers.router)
    app.include_router(transfers.router)
    app.include_router(transfer_requests.router)
    # the form's /console/cases/new before the case's /console/cases/{case_id}
    app.include_router(case_form.router)
    app.include_router(case_closing.router)
    app.include_router(cases.router)
    app.include_router(consent_form.router)
    app.include_router(consents.router)
    app.include_router(consent_withdrawal.router)
    app.include_router(board.router)
    app.include_router(supervision.router)
    # the form's /console/services/new before the service's /console/services/{service_id}
    app.include_router(service_edit.router)
    app.include_router(service_directory.router)
    app.include_router(reports.router)
    app.include_router(admin_organisations.router)
    app.include_router(admin_clients.router)
    app.include_router(admin_channels.router)
    app.include_router(admin_agreements.router)
    app.include_router(admin_people.router)
    app.include_router(admin_deliveries.router)
    # last: whatever the routes above do not answer
    app.include_router(home.fallback)


def bind(app: FastAPI, settings: Settings) -> None:
    """What the console keeps of the app's runtime: the sign-in limiter made from its settings."""
    app.state.signin_limiter = signin_service.make_limiter(settings)
