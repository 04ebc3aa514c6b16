"""Resource protection: FastAPI dependencies that turn a Bearer token into a Principal.

Routes declare their scope, and it shows in the OpenAPI document as
`security: [{"oauth2": ["cases:read"]}]`:

    @router.get("/v1/cases/{case_id}")
    def read_case(
        principal: Annotated[Principal, Depends(require_scope("cases:read"))], db: DbSession
    ) -> CaseRead: ...

A route any authenticated client may call takes `principal: CurrentPrincipal`.
Failures are problem documents with RFC 6750 `WWW-Authenticate` headers: no token → 401
`unauthorized`; a bad token → 401 `invalid_token`; a missing scope → 403 `insufficient_scope`.

Acting for a person: a partner's client may say which of its organisation's people a request
is made for with the header `On-Behalf-Of: <user id>`. It is resolved after the token: the
user must exist, be enabled and belong to the client's organisation, otherwise 403
`unknown_user` (the same answer whichever check failed, so it tells nothing about other
organisations' people). The Principal then carries `user_id`, and its `actor` names the person
"via" the client (`user:<id>@<organisation> via client:<client id>`) in the audit log, the
lifecycle events and the reviews (four eyes is checked by person). The scopes stay the
client's: a person's role does not widen or narrow them.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import Annotated, Any

from authlib.oauth2 import ResourceProtector
from authlib.oauth2.rfc6749.errors import MissingAuthorizationError, UnsupportedTokenTypeError
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError, InvalidTokenError
from fastapi import Depends, Header, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from sqlalchemy.orm import Session

from hub.api.deps import DbSession
from hub.api.problems import Problem
from hub.auth import scopes as scope_names
from hub.auth import tokens
from hub.auth.keys import SigningKeys
from hub.auth.server import Authority, get_authority
from hub.auth.tokens import InvalidToken, Principal
from hub.users.models import User

log = logging.getLogger("hub.auth")

__all__ = [
    "CurrentPrincipal",
    "Principal",
    "authenticate",
    "oauth2_scheme",
    "require_any_scope",
    "require_scope",
]

# Documents the scheme in OpenAPI; reading the header itself is left to authlib's protector.
oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token", scopes=dict(scope_names.KNOWN_SCOPES)
        )
    ),
    scheme_name="oauth2",
    description="OAuth 2.0 client credentials (client_secret_basic, client_secret_post, "
    "private_key_jwt); access tokens are JWTs signed by the hub. A client acting for one of "
    "its organisation's people adds the header `On-Behalf-Of: <user id>`: the request is then "
    "recorded in that person's name (via the client), with the client's scopes; a user who "
    "does not exist, is disabled or belongs to another organisation is refused with 403 "
    "`unknown_user`.",
    auto_error=False,
)


class HubBearerTokenValidator(BearerTokenValidator):
    """Verifies the hub's own JWTs (joserfc) and resolves the client behind them."""

    def __init__(self, *, db: Session, keys: SigningKeys, issuer: str, audience: str) -> None:
        super().__init__()
        self.db = db
        self.keys = keys
        self.issuer = issuer
        self.audience = audience

    def authenticate_token(self, token_string: str) -> Principal | None:
        try:
            claims = tokens.verify_signed(
                db=self.db,
                keys=self.keys,
                token=token_string,
                issuer=self.issuer,
                audience=self.audience,
            )
            return tokens.principal_for(db=self.db, claims=claims)
        except InvalidToken as exc:
            # the reason only; the token itself is a credential and stays out of logs
            log.info("access token refused: %s", exc)
            return None

    def validate_token(self, token: Principal | None, scopes: list[str], request: Any) -> None:
        if token is None:
            raise InvalidTokenError()
        missing = [s for s in scopes if not token.has_scope(s)]
        if missing:
            raise InsufficientScopeError(description=" ".join(missing))


def _protector(db: Session, authority: Authority) -> ResourceProtector:
    protector = ResourceProtector()
    protector.register_token_validator(
        HubBearerTokenValidator(
            db=db, keys=authority.keys, issuer=authority.issuer, audience=authority.audience
        )
    )
    return protector


def _challenge(**params: str) -> dict[str, str]:
    if not params:
        return {"WWW-Authenticate": "Bearer"}
    rendered = ", ".join(f'{k}="{v}"' for k, v in params.items())
    return {"WWW-Authenticate": f"Bearer {rendered}"}


ON_BEHALF_OF = "On-Behalf-Of"
MAX_USER_ID_LENGTH = 64


def acting_for(*, db: Session, principal: Principal, user_id: str) -> Principal:
    """The client's Principal acting for one of its organisation's enabled people; otherwise
    403 `unknown_user`, the same whichever check failed."""
    user_id = user_id.strip()
    user = db.get(User, user_id) if 0 < len(user_id) <= MAX_USER_ID_LENGTH else None
    if (
        user is None
        or user.disabled_at is not None
        or user.organization_id != principal.organization_id
        or principal.user_id is not None
        or not principal.client_id
    ):
        raise Problem(
            403,
            "unknown_user",
            "Unknown user",
            f"{ON_BEHALF_OF} must name an enabled user of the client's organisation.",
        )
    return dataclasses.replace(principal, user_id=user.id)


ON_BEHALF_OF_DESCRIPTION = (
    "The id of a person of the client's organisation this request is made "
    "for; the audit log then names them (via the client). Scopes stay the client's."
)


def authenticate(
    security_scopes: SecurityScopes,
    request: Request,
    db: DbSession,
    _scheme: Annotated[str | None, Depends(oauth2_scheme)],
    on_behalf_of: Annotated[
        str | None, Header(alias=ON_BEHALF_OF, description=ON_BEHALF_OF_DESCRIPTION)
    ] = None,
) -> Principal:
    """The Principal for the request's Bearer token, holding every scope the route declares,
    and acting for the person `On-Behalf-Of` names, if any."""
    return _principal(request, db, list(security_scopes.scopes), on_behalf_of)


def _principal(
    request: Request, db: Session, required: list[str], on_behalf_of: str | None
) -> Principal:
    authority = get_authority(request.app)
    try:
        principal: Principal = _protector(db, authority).validate_request(required, request)
    except (MissingAuthorizationError, UnsupportedTokenTypeError):
        raise Problem(
            401, "unauthorized", "Authentication required", headers=_challenge()
        ) from None
    except InvalidTokenError:
        raise Problem(
            401,
            "invalid_token",
            "The access token is invalid",
            "Expired, revoked, malformed, or not issued by this hub.",
            headers=_challenge(error="invalid_token"),
        ) from None
    except InsufficientScopeError:
        scope = " ".join(required)
        raise Problem(
            403,
            "insufficient_scope",
            "The access token lacks the scope this request needs",
            headers=_challenge(error="insufficient_scope", scope=scope),
            scope=scope,
        ) from None
    if on_behalf_of is not None:
        principal = acting_for(db=db, principal=principal, user_id=on_behalf_of)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Security(authenticate)]


@functools.cache
def require_scope(scope: str) -> Callable[..., Principal]:
    """A dependency returning the caller's Principal, if its token holds `scope`.

    One dependency per scope, whichever module asks: FastAPI solves a dependency once per
    request, so a route and the loader of its object that both require a scope authenticate
    the caller once."""
    if not scope_names.is_known(scope):
        raise ValueError(f"unknown scope {scope!r}")  # a typo in a route, caught at import

    required = [scope]

    # `authenticate` itself, its scope given here rather than by a `Security(authenticate)`
    # around it: one dependency fewer for FastAPI to solve on every request, the same checks
    # and the same OpenAPI (the scheme's requirement with the scope, the On-Behalf-Of
    # header). Defaults rather than Annotated: the annotations are strings here (future
    # import) and could not reach `scope`, a local of this function
    def scoped(
        request: Request,
        db: DbSession,
        _scheme: str | None = Security(oauth2_scheme, scopes=required),
        on_behalf_of: str | None = Header(
            None, alias=ON_BEHALF_OF, description=ON_BEHALF_OF_DESCRIPTION
        ),
    ) -> Principal:
        return _principal(request, db, required, on_behalf_of)

    scoped.__name__ = f"require_scope_{scope.replace(':', '_').replace('/', '_')}"
    scoped.required_scope = scope  # type: ignore[attr-defined]
    return scoped


def require_any_scope(*scopes: str) -> Callable[..., Principal]:
    """A dependency returning the caller's Principal, if its token holds one of `scopes`
    (403 `insufficient_scope` naming them all otherwise). The route declares the alternatives
    in OpenAPI with `openapi_extra=any_scope_security(...)`."""
    unknown = [s for s in scopes if not scope_names.is_known(s)]
    if not scopes or unknown:
        raise ValueError(f"unknown scopes {unknown!r}")

    async def scoped(principal: Principal = Security(authenticate)) -> Principal:
        if not any(principal.has_scope(s) for s in scopes):
            scope = " ".join(scopes)
            raise Problem(
                403,
                "insufficient_scope",
                "The access token lacks the scope this request needs",
                f"One of: {scope}.",
                headers=_challenge(error="insufficient_scope", scope=scope),
                scope=scope,
            )
        return principal

    scoped.__name__ = "require_any_scope_" + "_".join(
        s.replace(":", "_").replace("/", "_") for s in scopes
    )
    scoped.required_scopes = scopes  # type: ignore[attr-defined]
    return scoped


def any_scope_security(*scopes: str) -> dict[str, Any]:
    """`openapi_extra` of a route taking `require_any_scope(*scopes)`: one security requirement
    per scope, any of which will do (hub.api.openapi drops the empty one FastAPI adds)."""
    return {"security": [{"oauth2": [s]} for s in scopes]}
