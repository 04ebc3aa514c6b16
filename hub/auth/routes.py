"""OAuth endpoints and discovery documents. Errors here are OAuth JSON, which clients parse."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from hub.api.deps import DbSession
from hub.auth import scopes as scope_names
from hub.auth.endpoints import server_for
from hub.auth.keys import SIGNING_ALGS
from hub.auth.server import (
    ASSERTION_ALGS,
    AUTH_METHODS,
    Authority,
    StarletteOAuth2Request,
    get_authority,
)

router = APIRouter(tags=["oauth"])

MAX_FORM_BYTES = 16_384
MAX_FORM_FIELDS = 20
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


def install(app: FastAPI) -> None:
    """Mount the OAuth routes."""
    # authlib logs whole tokens and assertions at DEBUG ("Issue token %r"): never let those
    # records through, whatever the hub's log level
    logging.getLogger("authlib").setLevel(logging.INFO)
    app.include_router(router)


def bind(app: FastAPI) -> None:
    """Make the app's Authority (keys, rate limiter) from its runtime now, replacing any
    earlier runtime's."""
    app.state.auth = None
    get_authority(app)


def _oauth_error(status: int, error: str, description: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**NO_STORE, **headers},
    )


async def _read_form(request: Request) -> dict[str, str] | JSONResponse:
    """The urlencoded body as a dict, or an OAuth error: too large, not a form, or a parameter
    given twice (RFC 6749 §3.2: parameters MUST NOT repeat)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        return _oauth_error(400, "invalid_request", f"The body must be {FORM_MEDIA_TYPE}.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return _oauth_error(413, "invalid_request", "The request body is too large.")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        return _oauth_error(400, "invalid_request", "The body is not a valid form.")
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            return _oauth_error(400, "invalid_request", f"Parameter {name} is repeated.")
        form[name] = value
    return form


def _oauth_request(request: Request, authority: Authority, form: dict[str, str]) -> Any:
    # the external URL, not the one the server saw: behind a TLS proxy that one is http
    return StarletteOAuth2Request(
        method=request.method,
        uri=authority.issuer + request.url.path,
        headers=request.headers,
        form=form,
    )


def _source(request: Request) -> str:
    """The address a request came from (the proxy's client, where the server trusts it)."""
    return request.client.host if request.client else ""


@router.post("/oauth/token", summary="Token endpoint (client_credentials)")
async def token(request: Request, db: DbSession) -> Response:
    authority = get_authority(request.app)
    form = await _read_form(request)
    if isinstance(form, JSONResponse):
        return form
    # the limits live in the server's client authentication (HubAuthorizationServer), where
    # authlib has parsed the credentials: failures count per claimed client and source
    server = server_for(db=db, authority=authority, source=_source(request))
    oauth_request = _oauth_request(request, authority, form)
    # argon2 and the database are blocking: off the event loop
    response: Response = await run_in_threadpool(server.create_token_response, oauth_request)
    return response


@router.post("/oauth/introspect", summary="Token introspection (RFC 7662)")
async def introspect(request: Request, db: DbSession) -> Response:
    return await _endpoint(request, db, "introspection")


@router.post("/oauth/revoke", summary="Token revocation (RFC 7009)")
async def revoke(request: Request, db: DbSession) -> Response:
    return await _endpoint(request, db, "revocation")


async def _endpoint(request: Request, db: Any, name: str) -> Response:
    authority = get_authority(request.app)
    form = await _read_form(request)
    if isinstance(form, JSONResponse):
        return form
    server = server_for(db=db, authority=authority, source=_source(request))
    oauth_request = _oauth_request(request, authority, form)
    response: Response = await run_in_threadpool(
        server.create_endpoint_response, name, oauth_request
    )
    response.headers.update(NO_STORE)
    return response


def _metadata(authority: Authority) -> dict[str, Any]:
    return {
        "issuer": authority.issuer,
        "token_endpoint": authority.token_endpoint,
        "jwks_uri": authority.jwks_uri,
        "introspection_endpoint": authority.introspection_endpoint,
        "revocation_endpoint": authority.revocation_endpoint,
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "scopes_supported": [*scope_names.KNOWN_SCOPES, *scope_names.FHIR_V2_SCOPES],
        "access_token_signing_alg_values_supported": list(SIGNING_ALGS),
    }


@router.get("/.well-known/oauth-authorization-server", summary="RFC 8414 metadata")
def authorization_server_metadata(request: Request) -> dict[str, Any]:
    return _metadata(get_authority(request.app))


@router.get("/.well-known/smart-configuration", summary="SMART Backend Services metadata")
def smart_configuration(request: Request) -> dict[str, Any]:
    authority = get_authority(request.app)
    return {
        "issuer": authority.issuer,
        "jwks_uri": authority.jwks_uri,
        "token_endpoint": authority.token_endpoint,
        "introspection_endpoint": authority.introspection_endpoint,
        "revocation_endpoint": authority.revocation_endpoint,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "scopes_supported": [*scope_names.KNOWN_SCOPES, *scope_names.FHIR_V2_SCOPES],
        "response_types_supported": [],
        "capabilities": [
            "client-confidential-asymmetric",
            "client-confidential-symmetric",
            "permission-v1",
            "permission-v2",
        ],
    }


@router.get("/.well-known/jwks.json", summary="The hub's token-signing public keys")
def jwks(request: Request, db: DbSession) -> Response:
    keys = get_authority(request.app).keys
    document = keys.jwks(db=db)
    if not document["keys"]:
        # first start: make the first key now rather than serve an empty set
        keys.signing_key(db=db)
        document = keys.jwks(db=db)
    # short: verifiers should see a rotation within a minute
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=60"})
