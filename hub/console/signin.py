"""Signing in and out: e-mail and password, then the second factor where the role requires it.

The sign-in form is protected before any session exists by a double-submit token: a random
value in a SameSite=Strict cookie that the form must repeat.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.console import security
from hub.console.errors import ConsoleRoute, CsrfRefused
from hub.console.pages import CheckedForm, page, text_field
from hub.console.people import (
    CurrentPerson,
    Person,
    clear_session_cookie,
    is_secure,
    language_of,
    resolve,
    set_session_cookie,
)
from hub.users import second_factor, sessions, signin
from hub.users import service as users

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

SIGNIN_CSRF_COOKIE = "hub_signin_csrf"
HOME = "/console"


def safe_next(value: str | None) -> str:
    """Only a console path of this hub: never another site (no open redirect)."""
    if value and value.startswith("/console/") and "//" not in value and "\\" not in value:
        return value
    return HOME


def _signin_page(
    request: Request, *, error: str | None = None, next_path: str = HOME, status: int = 200
) -> Response:
    token = security.new_token()
    response = page(
        request,
        None,
        "sign_in.html",
        language=language_of(request),
        status_code=status,
        signin_csrf=token,
        error=error,
        next_path=next_path,
        signed_out=request.query_params.get("signed_out") == "1",
    )
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        httponly=True,
        secure=is_secure(request),
        samesite="strict",
        path="/console",
    )
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, db: DbSession, runtime: CurrentRuntime) -> Response:
    session = resolve(request, db, runtime)
    if session is not None and not sessions.needs_second_factor(session):
        return RedirectResponse(HOME, status_code=303)
    return _signin_page(request, next_path=safe_next(request.query_params.get("next")))


async def _form(request: Request) -> FormData:
    return await request.form()


SignInForm = Annotated[FormData, Depends(_form)]


@router.post("/sign-in")
def sign_in(request: Request, form: SignInForm, db: DbSession, runtime: CurrentRuntime) -> Response:
    given = form.get(security.CSRF_FIELD)
    if not security.tokens_match(
        request.cookies.get(SIGNIN_CSRF_COOKIE), given if isinstance(given, str) else None
    ):
        raise CsrfRefused()
    next_path = safe_next(text_field(form, "next", max_length=500))
    email = text_field(form, "email", max_length=254)
    password = form.get("password")
    if not email or not isinstance(password, str) or not password:
        return _signin_page(request, error="missing", next_path=next_path, status=400)
    try:
        token, session = signin.sign_in(
            db=db,
            settings=runtime.settings,
            limiter=request.app.state.signin_limiter,
            email=email,
            password=password,
            source=request.client.host if request.client else "",
        )
    except signin.SigninRefused as refused:
        status = 429 if refused.code in ("throttled", "locked") else 400
        return _signin_page(request, error=refused.code, next_path=next_path, status=status)
    target = next_path
    if sessions.needs_second_factor(session):
        enrolled = second_factor.is_enrolled(session.user)
        target = "/console/second-factor" + ("" if enrolled else "/enrol")
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, token)
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/console")
    return response


def _partial(request: Request, db: DbSession, runtime: CurrentRuntime) -> Person | None:
    """The person of a session that has passed the password but not yet the second factor."""
    session = resolve(request, db, runtime)
    if session is None:
        return None
    user = session.user
    return Person(
        user=user,
        session=session,
        principal=users.principal_of(db=db, user=user),
        language=language_of(request, user),
    )


PartialPerson = Annotated[Person | None, Depends(_partial)]


async def _partial_form(request: Request, person: PartialPerson) -> FormData:
    form = await request.form()
    given = form.get(security.CSRF_FIELD)
    if person is None or not security.tokens_match(
        person.csrf_token, given if isinstance(given, str) else None
    ):
        raise CsrfRefused()
    return form


PartialForm = Annotated[FormData, Depends(_partial_form)]


@router.get("/second-factor")
def second_factor_form(request: Request, person: PartialPerson) -> Response:
    if person is None:
        return RedirectResponse("/console/sign-in", status_code=303)
    if not second_factor.is_enrolled(person.user):
        return RedirectResponse("/console/second-factor/enrol", status_code=303)
    return _partial_page(request, person, "second_factor.html")


@router.post("/second-factor")
def second_factor_check(
    request: Request,
    person: PartialPerson,
    form: PartialForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    assert person is not None  # _partial_form refused the post otherwise
    code = text_field(form, "code", max_length=64)
    try:
        second_factor.verify(
            db=db,
            keyring=runtime.keyring,
            user=person.user,
            session=person.session,
            code=code,
            actor=person.actor,
            settings=runtime.settings,
        )
    except second_factor.SecondFactorRefused as refused:
        return _partial_page(
            request,
            person,
            "second_factor.html",
            status_code=_refusal_status(refused),
            error=refused.code,
        )
    return RedirectResponse(HOME, status_code=303)


@router.get("/second-factor/enrol")
def enrol_form(
    request: Request, person: PartialPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    if person is None:
        return RedirectResponse("/console/sign-in", status_code=303)
    if second_factor.is_enrolled(person.user):
        return RedirectResponse("/console/second-factor", status_code=303)
    secret = second_factor.begin_enrolment(db=db, keyring=runtime.keyring, user=person.user)
    return _enrol_page(request, person, secret)


@router.post("/second-factor/enrol")
def enrol(
    request: Request,
    person: PartialPerson,
    form: PartialForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    assert person is not None
    code = text_field(form, "code", max_length=64)
    try:
        codes = second_factor.confirm_enrolment(
            db=db,
            keyring=runtime.keyring,
            user=person.user,
            session=person.session,
            code=code,
            actor=person.actor,
            settings=runtime.settings,
        )
    except second_factor.SecondFactorRefused as refused:
        # the same secret stays pending: the page shows it again with the error
        secret = second_factor.pending_secret(db=db, keyring=runtime.keyring, user=person.user)
        return _enrol_page(
            request, person, secret, error=refused.code, status_code=_refusal_status(refused)
        )
    # shown once, on this answer only (no-store): they are not kept in clear anywhere
    return _partial_page(request, person, "recovery_codes.html", codes=codes)


@router.post("/sign-out")
def sign_out(request: Request, person: CurrentPerson, form: CheckedForm, db: DbSession) -> Response:
    sessions.revoke(db=db, session=person.session, actor=person.actor)
    response = RedirectResponse("/console/sign-in?signed_out=1", status_code=303)
    clear_session_cookie(response, request)
    return response


def _refusal_status(refused: second_factor.SecondFactorRefused) -> int:
    """A wrong code is the person's to correct (400); a lock is a wait (429)."""
    return 400 if refused.code == "invalid_code" else 429


def _partial_page(
    request: Request, person: Person, template: str, *, status_code: int = 200, **context: Any
) -> Response:
    """A page of the sign-in steps: the person's language and CSRF token, no navigation yet."""
    return page(
        request,
        None,
        template,
        language=person.language,
        status_code=status_code,
        csrf_token=person.csrf_token,
        **context,
    )


def _enrol_page(
    request: Request,
    person: Person,
    secret: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    uri = second_factor.provisioning_uri(user=person.user, secret=secret)
    return _partial_page(
        request,
        person,
        "enrol.html",
        status_code=status_code,
        error=error,
        # in groups of four, easier to type into an app that cannot scan
        secret_groups=[secret[i : i + 4] for i in range(0, len(secret), 4)],
        qr_svg=_qr_svg(uri),
    )


def _qr_svg(uri: str) -> str:
    """The provisioning URI as an SVG QR code (segno), to scan with an authenticator app."""
    import segno

    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#0b0c0c", light="#ffffff"))
