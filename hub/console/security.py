"""What every console answer carries: a strict Content-Security-Policy, no framing, no caching
of personal pages, no referrer; and the CSRF check every form goes through.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/console"
# nothing from another origin, no inline script or style, no plugins, forms post back here only
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'none'; connect-src 'self'; form-action 'self'; frame-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# a consent's scanned form is shown in a frame of the review page, and only there
FRAMEABLE_CSP = "default-src 'none'; img-src 'self'; style-src 'self'; frame-ancestors 'self'"
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), geolocation=(), microphone=(), payment=()",
    # a shared laptop's next user must not find the last one's pages in the cache or history
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}
FRAMEABLE_HEADER = "X-Hub-Frameable"  # set by a route to ask for FRAMEABLE_CSP; not sent
CSRF_FIELD = "csrf_token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


class ConsoleHeadersMiddleware:
    """Adds the console's headers to every answer under /console and to `/` (its redirect)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/" or path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                frameable = FRAMEABLE_HEADER in headers
                if frameable:
                    del headers[FRAMEABLE_HEADER]
                for name, value in HEADERS.items():
                    headers[name] = value
                if frameable:
                    headers["X-Frame-Options"] = "SAMEORIGIN"
                    headers["Content-Security-Policy"] = FRAMEABLE_CSP
                else:
                    headers["Content-Security-Policy"] = CSP
                if path.startswith(PREFIX + "/static/"):
                    # the stylesheet holds nothing personal: let it be cached (it is versioned)
                    headers["Cache-Control"] = "public, max-age=86400"
                    del headers["Pragma"]
            await send(message)

        await self.app(scope, receive, send_with_headers)
