"""Who is at the console: the session cookie, resolved to a signed-in person.

The cookie holds a random token; the session lives in the database (`hub.users.sessions`), so
sign-out, `hub users disable` and a password reset end it at once. Over https the cookie is a
`__Host-` cookie (Secure, no Domain, Path=/); browsers refuse that prefix without Secure, so
over plain http (a local try-out) it goes by its bare name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.auth.tokens import Principal
from hub.console import i18n
from hub.console.errors import Forbidden, SecondFactorNeeded, SignInNeeded
from hub.users import second_factor, sessions
from hub.users import service as users
from hub.users.models import User, UserSession

COOKIE = "hub_session"
SECURE_COOKIE = "__Host-hub_session"


def is_secure(request: Request) -> bool:
    runtime = request.app.state.runtime
    return request.url.scheme == "https" or runtime.settings.public_url.startswith("https://")


def cookie_name(request: Request) -> str:
    return SECURE_COOKIE if is_secure(request) else COOKIE


def session_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request))


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        cookie_name(request),
        token,
        httponly=True,
        secure=is_secure(request),
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        cookie_name(request), path="/", secure=is_secure(request), httponly=True, samesite="lax"
    )


def language_of(request: Request, user: User | None = None) -> str:
    return i18n.choose(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get(i18n.LANGUAGE_COOKIE),
        preference=user.language if user is not None else None,
        header=request.headers.get("accept-language"),
    )


@dataclass(frozen=True)
class Person:
    """A signed-in person: their session, and the Principal they act as in every service."""

    user: User
    session: UserSession
    principal: Principal
    language: str

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    @property
    def actor(self) -> str:
        return self.principal.actor

    def may(self, scope: str) -> bool:
        return self.principal.has_scope(scope)

    def gettext(self, message: str) -> str:
        """`message` in the person's language (the pages' own words come from the templates)."""
        return i18n.translations(self.language).gettext(message)

    def require(self, scope: str) -> None:
        if not self.may(scope):
            raise Forbidden()


def resolve(request: Request, db: Session, runtime: CurrentRuntime) -> UserSession | None:
    return sessions.resolve(db=db, settings=runtime.settings, token=session_token(request))


def current_person(request: Request, db: DbSession, runtime: CurrentRuntime) -> Person:
    """The signed-in person, past their second factor where it is required; otherwise the
    page sends them to sign in (or to the second factor) and back."""
    session = resolve(request, db, runtime)
    if session is None:
        raise SignInNeeded(request.url.path)
    user = session.user
    if sessions.needs_second_factor(session):
        raise SecondFactorNeeded(enrolled=second_factor.is_enrolled(user))
    person = Person(
        user=user,
        session=session,
        principal=users.principal_of(db=db, user=user),
        language=language_of(request, user),
    )
    request.state.principal = person.principal
    return person


CurrentPerson = Annotated[Person, Depends(current_person)]
