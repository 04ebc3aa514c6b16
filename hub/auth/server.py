"""The OAuth 2.0 authorization server: authlib's generic server, bound to Starlette.

authlib ships server integrations for Flask and Django only; this does what they do for a
Starlette request (already read: the form body is awaited by the route), with one server per
request bound to that request's database session. What outlives requests (signing keys, the
rate limiter, the URLs) is the `Authority`, one per app.

Grant: client_credentials only. Client authentication: `client_secret_basic`,
`client_secret_post`, and `private_key_jwt` (RFC 7523 as SMART Backend Services uses it).

Credentials are read by authlib's parsers only; the limits on authentication
(`AuthenticationLimits`) learn the client id a request claims from the `query_client` call those
parsers make, so no header shape is read one way for the limit and another for the check.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, InvalidClientError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Request
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from fastapi import FastAPI
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from hub.auth import clients as client_service
from hub.auth import scopes as scope_names
from hub.auth import tokens
from hub.auth.keys import SigningKeys
from hub.auth.limit_store import DatabaseWindowLimiter
from hub.auth.models import OAuthClient, UsedAssertion
from hub.auth.ratelimit import AuthenticationLimits, parse_rate
from hub.clock import utcnow
from hub.settings import Settings

log = logging.getLogger("hub.auth")

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
# what partners sign assertions with; SMART Backend Services requires RS384 and ES384
ASSERTION_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
ASSERTION_MAX_SECONDS = 300
ASSERTION_LEEWAY_SECONDS = 30


class Authority:
    """What the authorization and resource servers share for the life of the app."""

    def __init__(self, *, settings: Settings, keys: SigningKeys) -> None:
        self.issuer = settings.public_url.rstrip("/")
        # the hub is the only resource server its tokens are for: audience = issuer
        self.audience = self.issuer
        self.token_endpoint = self.issuer + "/oauth/token"
        self.introspection_endpoint = self.issuer + "/oauth/introspect"
        self.revocation_endpoint = self.issuer + "/oauth/revoke"
        self.jwks_uri = self.issuer + "/.well-known/jwks.json"
        self.token_seconds = settings.access_token_seconds
        self.keys = keys
        self.rate = parse_rate(settings.token_rate_limit)

    def limits(self, db: Session) -> AuthenticationLimits:
        """The limits on client authentication, counted in the request's transaction: every
        server process and replica shares them."""
        return AuthenticationLimits(*self.rate, make=partial(DatabaseWindowLimiter, db))


_create_lock = threading.Lock()


def get_authority(app: FastAPI) -> Authority:
    """The app's Authority, made on first use if `install` has not made it yet."""
    authority: Authority | None = getattr(app.state, "auth", None)
    if authority is None:
        with _create_lock:
            authority = getattr(app.state, "auth", None)
            if authority is None:
                runtime = app.state.runtime
                settings = runtime.settings
                keys = SigningKeys(
                    keyring=runtime.keyring, token_seconds=settings.access_token_seconds
                )
                authority = Authority(settings=settings, keys=keys)
                app.state.auth = authority
    return authority


class HubClient(ClientMixin):  # type: ignore[misc]
    """authlib's view of an OAuthClient row."""

    def __init__(self, row: OAuthClient, scopes: tuple[str, ...]) -> None:
        self.row = row
        self.client_id = row.client_id
        self.organization_id = row.organization_id
        self.scopes = scopes

    def get_client_id(self) -> str:
        return self.client_id

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return scope_names.to_string(self.scopes)
        return scope_names.to_string(scope_names.within(scope, self.scopes))

    def check_client_secret(self, client_secret: str) -> bool:
        return client_service.check_secret(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if method in ("client_secret_basic", "client_secret_post"):
            return self.row.secret_hash is not None
        if method == "private_key_jwt":
            return bool(self.row.jwks)
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def get_default_redirect_uri(self) -> None:
        return None

    def check_response_type(self, response_type: str) -> bool:
        return False


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """An OAuth2Request from a Starlette request's parts, its form body already parsed."""

    def __init__(
        self, *, method: str, uri: str, headers: Mapping[str, str], form: dict[str, str]
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


class PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 client assertions, registered under the name partners and discovery use."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, *, db: Session, audience: str) -> None:
        super().__init__(validate_jti=True, leeway=ASSERTION_LEEWAY_SECONDS)
        self.db = db
        self.audience = audience

    def get_audiences(self) -> list[str]:
        return [self.audience]

    def resolve_client_public_key(self, client: HubClient) -> KeySet:
        if not client.row.jwks:
            raise InvalidClientError(description="The client has no registered keys.")
        return KeySet.import_key_set(client.row.jwks)

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        # authlib's default decode accepts only joserfc's "recommended" algorithms, which
        # leaves out RS384/ES384 that SMART clients sign with: name them explicitly
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGS)
        except (JoseError, ValueError):
            raise InvalidClientError(description="Invalid client assertion.") from None
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: Any) -> None:
        now = int(utcnow().timestamp())
        exp = claims.get("exp")
        if not isinstance(exp, int):
            raise InvalidClientError(description="The assertion needs a numeric exp.")
        # checked before the jti is recorded, so a refused assertion does not burn its jti
        if exp > now + ASSERTION_MAX_SECONDS + ASSERTION_LEEWAY_SECONDS:
            raise InvalidClientError(description="The assertion lives longer than 5 minutes.")
        iat = claims.get("iat")
        if iat is not None and (not isinstance(iat, int) or exp - iat > ASSERTION_MAX_SECONDS):
            raise InvalidClientError(description="The assertion lives longer than 5 minutes.")
        if iat is not None and iat > now + ASSERTION_LEEWAY_SECONDS:
            raise InvalidClientError(description="The assertion is issued in the future.")
        super().verify_claims(claims)

    def validate_jti(self, claims: Any, jti: Any) -> bool:
        if not isinstance(jti, str) or not jti or len(jti) > 255:
            return False
        client_id = claims["sub"]
        now = utcnow()
        # the client's expired jtis are of no more use: dropped as new ones arrive
        self.db.execute(
            delete(UsedAssertion).where(
                UsedAssertion.client_id == client_id, UsedAssertion.expires_at < now
            )
        )
        seen = self.db.scalar(
            select(UsedAssertion.jti).where(
                UsedAssertion.client_id == client_id, UsedAssertion.jti == jti
            )
        )
        if seen is not None:
            return False
        try:
            # a savepoint: of two concurrent requests with one jti, the second fails here
            with self.db.begin_nested():
                self.db.add(
                    UsedAssertion(
                        client_id=client_id,
                        jti=jti,
                        expires_at=datetime.fromtimestamp(
                            claims["exp"] + ASSERTION_LEEWAY_SECONDS, UTC
                        ),
                    )
                )
        except IntegrityError:
            return False
        return True


class HubClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self) -> None:
        # authlib compares against a fixed list; the hub grants any subset of the client's
        # scope, and the whole of it when none is asked for
        # (a SMART system scope may be narrower than the client's: `.rs` of its `.cruds`)
        requested = scope_names.parse(self.request.payload.scope)
        if scope_names.within(requested, self.client.scopes) != requested:
            raise InvalidScopeError(description="The scope exceeds what the client holds.")


class TooManyRequestsError(OAuth2Error):  # type: ignore[misc]
    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(description="Too many requests; retry later.")
        self.retry_after = retry_after

    def get_headers(self) -> list[tuple[str, str]]:
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]


class HubAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's server for one request, bound to its database session and the address the
    request came from (`source`, for the limits on failed authentication)."""

    def __init__(self, *, db: Session, authority: Authority, source: str = "") -> None:
        super().__init__(scopes_supported=list(scope_names.KNOWN_SCOPES))
        self.db = db
        self.authority = authority
        self.source = source
        self.limits = authority.limits(db)
        # the client ids authlib's parsers claimed during this request's authentication
        self._claimed: list[str] = []
        self.register_grant(HubClientCredentialsGrant)
        self.register_client_auth_method(
            "private_key_jwt", PrivateKeyJWT(db=db, audience=authority.token_endpoint)
        )
        self.register_token_generator("default", self._generate_token)

    def authenticate_client(
        self, request: OAuth2Request, methods: list[str], endpoint: str = "token"
    ) -> HubClient:
        """authlib's client authentication, within the limits: a source over its failure limit
        is refused before any secret is checked; a failure counts against the source and each
        client id claimed; a success is never refused for anyone else's failures."""
        limits = self.limits
        wait = limits.source_wait(self.source)
        if wait:
            raise TooManyRequestsError(wait)
        self._claimed = []
        try:
            client: HubClient = super().authenticate_client(request, methods, endpoint)
        except InvalidClientError:
            limits.failed(self._claimed, self.source)
            raise
        if endpoint == "token":
            wait = limits.succeeded(client.client_id)
            if wait:
                raise TooManyRequestsError(wait)
        return client

    def query_client(self, client_id: str) -> HubClient | None:
        # called by authlib's parsers with the id the request claims, before its proof is
        # checked: a source over the failure limit for this id is refused here
        if isinstance(client_id, str):
            wait = self.limits.client_wait(client_id, self.source)
            if wait:
                raise TooManyRequestsError(wait)
            self._claimed.append(client_id)
        if not isinstance(client_id, str) or len(client_id) > 64:
            return None
        found = client_service.get_active_with_kind(db=self.db, client_id=client_id)
        if found is None:
            return None
        row, kind = found
        return HubClient(row, client_service.held_scopes(row, kind))

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        # access tokens are self-contained JWTs: nothing to store (revocation keeps its ledger)
        log.info("access token issued", extra={"client_id": request.client.client_id})

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        raise TypeError("pass a StarletteOAuth2Request built by the route")

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else (body or "")
        response = Response(content, status_code=status, media_type="application/json")
        for name, value in headers:
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    def _generate_token(
        self,
        grant_type: str,
        client: HubClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        requested = scope_names.parse(scope)
        # validated already; never widened here
        if scope_names.within(requested, client.scopes) != requested:
            raise InvalidScopeError()
        granted = requested or client.scopes
        return tokens.issue(
            db=self.db,
            keys=self.authority.keys,
            issuer=self.authority.issuer,
            audience=self.authority.audience,
            client=client.row,
            scope=scope_names.to_string(granted),
            lifetime=self.authority.token_seconds,
        )
