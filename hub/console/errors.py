"""How the console answers what goes wrong: pages, never JSON, never a stack trace.

Routes use `ConsoleRoute`, which turns the hub's problems (`hub.api.problems.Problem`, raised by
the same services the API calls) and the console's own refusals into pages in the person's
language; sign-in and the second factor become redirects that come back to the page asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.api.problems import Problem
from hub.console import i18n
from hub.console.labels import N_
from hub.console.templating import render


class SignInNeeded(Exception):
    def __init__(self, path: str) -> None:
        super().__init__("sign in needed")
        self.path = path


class SecondFactorNeeded(Exception):
    def __init__(self, *, enrolled: bool) -> None:
        super().__init__("second factor needed")
        self.enrolled = enrolled


class Forbidden(Exception):
    """The person's role does not allow this page."""


class CsrfRefused(Exception):
    """A form came without the session's CSRF token (or with another)."""


# the problems a person can meet at the console, in words they can act on
MESSAGES: dict[str, str] = {
    "not_found": N_("There is nothing here, or it is not yours to see."),
    "four_eyes": N_(
        "You made this request, so you cannot decide it. Another consent officer has to."
    ),
    "review_decided": N_("This request has already been decided."),
    "invalid_transition": N_("This cannot be done in the request's present state."),
    "case_erased": N_("The case's data has been erased."),
    "justification_required": N_("Write a justification."),
    "forbidden": N_("Your role does not give access to this page."),
    # the consent screens (hub/console/consents.py, consent_form.py, consent_withdrawal.py)
    "consent_withdrawn": N_(
        "This consent has been withdrawn: a withdrawal is final. Record a new consent if the "
        "person agrees again."
    ),
    "consent_superseded": N_(
        "This consent has a newer version since you opened the page: start from the current "
        "version."
    ),
    "evidence_too_large": N_(
        "The file is too large (10 MB at most). Go back and choose a smaller file, or take the "
        "photo again at a lower resolution."
    ),
    "csrf": N_(
        "This form has expired or did not come from this page. Go back, reload the page "
        "and try again."
    ),
}


def _language(request: Request) -> str:
    return i18n.choose(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get(i18n.LANGUAGE_COOKIE),
        preference=None,
        header=request.headers.get("accept-language"),
    )


def error_page(request: Request, status: int, code: str) -> Response:
    return render(
        _language(request),
        "error.html",
        {
            "status": status,
            "code": code,
            "message": MESSAGES.get(code),
            "person": None,
            "waiting_reviews": None,
            "path": request.url.path,
            "switch_links": i18n.switch_links(request.url.path, request.query_params.items()),
        },
        status_code=status,
    )


def sign_in_redirect(path: str) -> RedirectResponse:
    target = "/console/sign-in"
    if path.startswith("/console") and path not in ("/console", "/console/"):
        target += "?next=" + quote(path, safe="/")
    return RedirectResponse(target, status_code=303)


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded as exc:
                return sign_in_redirect(exc.path)
            except SecondFactorNeeded as exc:
                suffix = "" if exc.enrolled else "/enrol"
                return RedirectResponse(f"/console/second-factor{suffix}", status_code=303)
            except Forbidden:
                return error_page(request, 403, "forbidden")
            except CsrfRefused:
                return error_page(request, 403, "csrf")
            except Problem as exc:
                return error_page(request, exc.status, exc.code)

        return console_handler
