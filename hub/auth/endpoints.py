"""Introspection (RFC 7662) and revocation (RFC 7009) on authlib's endpoint classes."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import TokenMixin
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from sqlalchemy.orm import Session

from hub.auth import scopes as scope_names
from hub.auth import tokens
from hub.auth.server import AUTH_METHODS, Authority, HubAuthorizationServer, HubClient
from hub.auth.tokens import InvalidToken, Principal


class IssuedToken(TokenMixin):  # type: ignore[misc]
    """A verified access token's claims, as authlib's endpoints expect a token."""

    def __init__(self, claims: dict[str, Any], principal: Principal) -> None:
        self.claims = claims
        self.principal = principal

    def check_client(self, client: HubClient) -> bool:
        return bool(self.claims["client_id"] == client.client_id)

    def get_scope(self) -> str:
        return " ".join(self.principal.scopes)

    def get_expires_in(self) -> int:
        return int(self.claims["exp"]) - int(self.claims["iat"])

    def is_expired(self) -> bool:
        return False  # verified unexpired when it was looked up

    def is_revoked(self) -> bool:
        return False  # verified unrevoked when it was looked up


def _lookup(db: Session, authority: Authority, token_string: Any) -> IssuedToken | None:
    if not isinstance(token_string, str):
        return None
    try:
        claims = tokens.verify_signed(
            db=db,
            keys=authority.keys,
            token=token_string,
            issuer=authority.issuer,
            audience=authority.audience,
        )
        # the same checks as resource protection: a revoked client's tokens are inactive too
        principal = tokens.principal_for(db=db, claims=claims)
    except InvalidToken:
        return None
    return IssuedToken(claims, principal)


class HubIntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS
    SUPPORTED_TOKEN_TYPES = ("access_token",)

    def __init__(self, server: HubAuthorizationServer) -> None:
        super().__init__(server)
        self.db = server.db
        self.authority = server.authority

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return _lookup(self.db, self.authority, token_string)

    def check_permission(self, token: IssuedToken, client: HubClient, request: Any) -> bool:
        # a client introspects its own tokens; an `admin` client any token. Anything else is
        # answered active=false, so a token's existence does not leak across organisations
        return token.check_client(client) or scope_names.ADMIN in client.scopes

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        claims = token.claims
        return {
            "active": True,
            "scope": token.get_scope(),
            "client_id": claims["client_id"],
            "token_type": "Bearer",
            "exp": claims["exp"],
            "iat": claims["iat"],
            "nbf": claims.get("nbf", claims["iat"]),
            "sub": claims["sub"],
            "aud": claims["aud"],
            "iss": claims["iss"],
            "jti": claims["jti"],
            "org": claims["org"],
        }


class HubRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS
    SUPPORTED_TOKEN_TYPES = ("access_token",)

    def __init__(self, server: HubAuthorizationServer) -> None:
        super().__init__(server)
        self.db = server.db
        self.authority = server.authority

    def authenticate_token(self, request: Any, client: HubClient) -> IssuedToken | None:
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        # RFC 7009 §2.2: a token the caller may not revoke is answered like an invalid one
        # (200, nothing done); an `admin` client may revoke any token
        if token is None or not (token.check_client(client) or scope_names.ADMIN in client.scopes):
            return None
        return token

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return _lookup(self.db, self.authority, token_string)

    def revoke_token(self, token: IssuedToken, request: Any) -> None:
        tokens.revoke(db=self.db, jti=token.claims["jti"], expires_at=int(token.claims["exp"]))


def server_for(*, db: Session, authority: Authority, source: str = "") -> HubAuthorizationServer:
    """The server for one request; `source` is the address it came from."""
    server = HubAuthorizationServer(db=db, authority=authority, source=source)
    server.register_endpoint(HubIntrospectionEndpoint)
    server.register_endpoint(HubRevocationEndpoint)
    return server
