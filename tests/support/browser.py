"""Browser tests: the hub on a real port, Debian's Chromium driven by Playwright, and the checks
every console page gets (axe-core, console errors and CSP violations, page weight, screenshots).

Nothing here downloads a browser: Playwright launches the system Chromium (`chromium` on PATH,
or the path in `HUB_CHROMIUM`). Without it, or without the Python packages, browser tests are
skipped with the reason; with `HUB_REQUIRE_BROWSER=1` (set by .ci/run) they fail instead.
The fixtures themselves are in tests/console/conftest.py.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI

from hub.app import create_app
from hub.runtime import Runtime
from tests.support.passes import DATABASE_TESTS_ONLY
from tests.support.servers import PromptServer, serve_forever

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

CHROMIUM_ENV = "HUB_CHROMIUM"  # a Chromium executable to use instead of `chromium` on PATH
REQUIRE_ENV = "HUB_REQUIRE_BROWSER"  # "1": a missing browser fails the tests instead
SCREENSHOT_ENV = "HUB_SCREENSHOT_DIR"  # where screenshots go (default: <repo>/.screenshots)
# the screenshots this process took; the run names their folder at the end (tests/conftest.py)
SHOTS = pytest.StashKey[list[Path]]()
# In .ci/run's database-only pass, axe-core and the screenshots are left to the SQLite pass
# beside it: they judge markup and styles, which the templates make from the same requests and
# rows in either pass, and the words, which come from the catalogues. What the database decides
# is asserted by the tests themselves, which run in both. Each check left is noted here.
MARKUP_JUDGED_IN_SQLITE_PASS = DATABASE_TESTS_ONLY
MARKUP_LEFT = pytest.StashKey[list[str]]()
REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
VIEWPORT = (1280, 900)
NARROW = (360, 740)
# seconds `Pages.weight` waits for a page's requests to end after its `load`
WEIGHT_TIMEOUT = 15.0
BLOCKING_IMPACTS = ("serious", "critical")
INSTALL_HINT = "install it with `apt-get install -y chromium`"


# -- is there a browser? ------------------------------------------------------------------------
def chromium_path() -> str | None:
    """The Chromium to launch: `$HUB_CHROMIUM` if set (it must exist), else `chromium` on PATH."""
    wanted = os.environ.get(CHROMIUM_ENV)
    if wanted:
        path = Path(wanted)
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which("chromium")


def missing() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    for module, package in (
        ("playwright.sync_api", "playwright"),
        ("axe_playwright_python.sync_playwright", "axe-playwright-python"),
    ):
        try:
            __import__(module)
        except ImportError:
            return (
                f"browser tests need the Python package {package}, which is not installed: "
                "run `.venv/bin/pip install -e '.[test]'`"
            )
    if chromium_path() is None:
        wanted = os.environ.get(CHROMIUM_ENV)
        where = (
            f"{CHROMIUM_ENV}={wanted} is not an executable file"
            if wanted
            else "no `chromium` executable on PATH"
        )
        return f"browser tests need Debian's Chromium: {where}; {INSTALL_HINT}"
    return None


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def require_browser() -> None:
    """Skip the test when there is no browser, or fail it when `HUB_REQUIRE_BROWSER=1`."""
    reason = missing()
    if reason is None:
        return
    if required():
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


class Chromium:
    """One Chromium for a run of consecutive browser tests, started when first asked for.

    Playwright's sync API keeps its event loop marked as running in the thread it started in
    (`asyncio.run` then refuses to work there), so the conftest stops it whenever the next
    test does not need a browser, and it starts again for the next one that does.
    """

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    @property
    def running(self) -> bool:
        return self._browser is not None

    def get(self) -> Browser:
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            executable = chromium_path()
            assert executable is not None, missing()
            self._playwright = sync_playwright().start()
            try:
                self._browser = self._playwright.chromium.launch(
                    executable_path=executable, args=list(CHROMIUM_ARGS), headless=True
                )
            except BaseException:
                self.stop()
                raise
        return self._browser

    def stop(self) -> None:
        browser, self._browser = self._browser, None
        playwright, self._playwright = self._playwright, None
        try:
            if browser is not None:
                browser.close()
        finally:
            if playwright is not None:
                playwright.stop()


# -- the hub on a real port -----------------------------------------------------------------------
class LiveHub:
    """`create_app(runtime)` (or `app`, already serving `runtime`) served by uvicorn on
    127.0.0.1 (a free port) in a thread.

    `with LiveHub(runtime) as hub: httpx.get(f"{hub.url}/healthz")`. The socket is bound before
    the thread starts, so there is no window in which another process can take the port.
    """

    def __init__(
        self, runtime: Runtime, *, app: FastAPI | None = None, start_timeout: float = 20.0
    ) -> None:
        self.runtime = runtime
        self.app = app if app is not None else create_app(runtime)
        self._start_timeout = start_timeout
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._error: BaseException | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self._socket = sock
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_config=None,  # the hub configured logging; uvicorn must not redo it
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        server = PromptServer(config)
        self._server = server

        def serve() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as error:  # reported by start() or stop()
                self._error = error

        self._thread = threading.Thread(target=serve, name=f"live-hub:{self.port}", daemon=True)
        self._thread.start()
        waited = threading.Event()
        for _ in range(int(self._start_timeout / 0.02)):
            if server.started or not self._thread.is_alive():
                break
            waited.wait(0.02)
        if not server.started:
            self.stop()
            raise RuntimeError(f"the hub did not start on {self.url}: {self._error!r}")

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            if self._thread.is_alive():
                if server is not None:
                    server.force_exit = True
                self._thread.join(timeout=5)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._error is not None and not isinstance(self._error, SystemExit):
            raise RuntimeError(f"the live hub failed: {self._error!r}") from self._error

    def __enter__(self) -> LiveHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- what went wrong in the browser ---------------------------------------------------------------
_FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of")


@dataclass
class BrowserErrors:
    """Console errors, uncaught page errors and CSP violations of the pages it watches.

    A CSP violation reaches the console as an error ("Refused to ... because it violates the
    following Content Security Policy directive"), so it is caught with them. The error Chromium
    logs for a page's own 4xx/5xx document is not kept: a test that navigates to a 404 asserts
    on the status itself; nor is the one for the /favicon.ico Chromium asks for on its own. A
    failed subresource the page asks for (stylesheet, script, image) is kept.
    """

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str] | str] = field(default_factory=list)  # expected messages
    _documents: set[str] = field(default_factory=set)  # main-frame documents that were errors

    def watch(self, page: Page) -> Page:
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.errors.append(f"page error on {page.url}: {error}"))
        page.on("response", self._response)
        return page

    def _response(self, response: Any) -> None:
        request = response.request
        if response.status >= 400 and request.is_navigation_request():
            self._documents.add(response.url)

    def _console(self, page: Page, message: Any) -> None:
        if message.type != "error":
            return
        where = message.location.get("url") or page.url
        if _FAILED_LOAD.match(message.text) and (
            where in self._documents or urlsplit(where).path == "/favicon.ico"
        ):
            return
        line = message.location.get("lineNumber")
        self.errors.append(
            f"console error on {where}" + (f":{line}" if line else "") + f": {message.text}"
        )

    def take(self) -> list[str]:
        """What was collected so far, forgotten (for a test that expects an error)."""
        taken, self.errors = self.errors, []
        return taken

    def unexpected(self) -> list[str]:
        """The errors no pattern of `allowed` matches (searched, as `re.search` does)."""
        return [e for e in self.errors if not any(re.search(a, e) for a in self.allowed)]

    def report(self) -> str:
        return "errors in the browser:\n" + "\n".join(f"  - {e}" for e in self.unexpected())

    def check(self) -> None:
        """AssertionError listing every unexpected error (all collected are then forgotten)."""
        text = self.report() if self.unexpected() else ""
        self.errors = []
        if text:
            raise AssertionError(text)


# -- pages ----------------------------------------------------------------------------------------
@dataclass
class Pages:
    """Opens pages in contexts of their own, watched for errors; closes them all at the end."""

    chromium: Chromium
    errors: BrowserErrors
    default_locale: str = "en-GB"
    contexts: dict[BrowserContext, dict[str, Any]] = field(default_factory=dict)

    def open(
        self,
        *,
        locale: str | None = None,
        width: int = VIEWPORT[0],
        height: int = VIEWPORT[1],
        **context_options: Any,
    ) -> Page:
        options = {
            "locale": locale or self.default_locale,
            "viewport": {"width": width, "height": height},
            **context_options,
        }
        context = self.chromium.get().new_context(**options)
        context.set_default_timeout(15_000)
        self.contexts[context] = options
        return self.errors.watch(context.new_page())

    def close(self) -> None:
        contexts, self.contexts = list(self.contexts), {}
        for context in contexts:
            context.close()

    def weight(self, page: Page, url: str) -> int:
        """Bytes of the response bodies that loading `url` transfers: the document and every
        subresource it loads (redirects and failed answers included, `data:` URLs not), in a
        fresh context with `page`'s cookies and options, so nothing comes from a cache.

        A body is counted as it was sent (`Content-Encoding` compressed, if it was); headers are
        not counted. `page` itself does not move."""
        options = dict(self.contexts.get(page.context, {}))
        options["storage_state"] = page.context.storage_state()
        size = options.pop("viewport", {"width": VIEWPORT[0], "height": VIEWPORT[1]})
        fresh = self.open(width=size["width"], height=size["height"], **options)
        started: list[Any] = []
        finished: list[Any] = []
        failed: list[Any] = []
        fresh.on("request", lambda request: started.append(request))
        fresh.on("requestfinished", lambda request: finished.append(request))
        fresh.on("requestfailed", lambda request: failed.append(request))
        try:
            answer = fresh.goto(url, wait_until="load")
            assert answer is not None, f"no answer for {url}"
            # every request the page made has ended. `load` waits for the document's
            # subresources; the console has no scripts, so nothing starts after it.
            # (`networkidle` waited half a second more on every call.)
            waited = 0.0
            while len(finished) + len(failed) < len(started):
                assert waited < WEIGHT_TIMEOUT, f"requests of {url} still under way"
                fresh.wait_for_timeout(10)
                waited += 0.01
            total = 0
            for request in finished:
                if request.url.startswith("data:"):
                    continue
                total += max(request.sizes()["responseBodySize"], 0)
            return total
        finally:
            context = fresh.context
            self.contexts.pop(context, None)
            context.close()


# -- accessibility --------------------------------------------------------------------------------
def sign_in_page(page: Page, base: str, who: Any) -> None:
    """Sign `who` (a `tests.support.people.Person` with its second factor done) in on the
    console's sign-in page, as a person types it, and wait for the home page."""
    page.goto(f"{base}/console")
    page.fill("#email", who.email)
    page.fill("#password", who.password)
    page.press("#password", "Enter")
    page.wait_for_url(f"{base}/console")


# axe-core gives a violation its rule's impact when the rule has one (the checks' own only when
# it has none), so a rule of another impact than those asked about cannot find one of them: it is
# not run. For serious and critical, 32 rules of axe-core 4.12 (moderate and minor) are left out:
# 0.46 s → 0.40 s of CPU a check on the console's pages, the same violations.
_AXE_RUN = """(impacts) => axe.run(document, {
  resultTypes: ["violations"],
  rules: Object.fromEntries(axe._audit.rules
    .filter((rule) => rule.impact && !impacts.includes(rule.impact))
    .map((rule) => [rule.id, {enabled: false}])),
})"""


def axe_violations(page: Page, impacts: Iterable[str] = BLOCKING_IMPACTS) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, of the given impacts."""
    from axe_playwright_python.sync_playwright import Axe

    wanted = sorted(set(impacts))
    page.evaluate(Axe().axe_script)
    results = page.evaluate(_AXE_RUN, wanted)
    return [v for v in results["violations"] if v.get("impact") in wanted]


def describe_violations(violations: Iterable[Mapping[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"  - {violation['id']} ({violation['impact']}): {violation['help']}"
            f" [{violation.get('helpUrl', '')}]"
        )
        for node in violation.get("nodes", []):
            target = ", ".join(str(part) for part in node.get("target", []))
            lines.append(f"      at {target}: {node.get('html', '').strip()[:160]}")
    return "\n".join(lines)


def axe_check(page: Page, impacts: Iterable[str] = BLOCKING_IMPACTS) -> None:
    """AssertionError listing every violation of impact serious or critical on `page` (rule id,
    impact, help, and each node's selector and HTML).

    axe-core (the copy axe-playwright-python ships) is injected with `page.evaluate` (a
    DevTools-protocol evaluation, which the page's Content-Security-Policy does not govern), so
    it runs on the console's own pages under `script-src 'self'` without `bypass_csp`;
    test_browser_support checks that against a page served with a strict CSP and no error
    reported."""
    violations = axe_violations(page, impacts)
    if violations:
        raise AssertionError(
            f"accessibility violations on {page.url} (axe-core):\n"
            + describe_violations(violations)
        )


# -- screenshots ----------------------------------------------------------------------------------
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def screenshot_dir() -> Path:
    """The run's one screenshot folder: `$HUB_SCREENSHOT_DIR`, else `<repo>/.screenshots/`
    (ignored by git). Files of earlier runs are left there; a name taken again is replaced."""
    wanted = os.environ.get(SCREENSHOT_ENV)
    return Path(wanted).resolve() if wanted else REPO / ".screenshots"


def screenshot_path(folder: Path, name: str) -> Path:
    """`<folder>/<name>.png`, the name made safe for a file name."""
    stem = _UNSAFE.sub("-", name).strip("-.") or "page"
    return folder / f"{stem}.png"


def save_screenshot(page: Page, folder: Path, name: str) -> Path:
    """A full-page PNG `<folder>/<name>.png` (the name made safe for a file name).

    Taken through the DevTools protocol with `optimizeForSpeed`, which Playwright's
    `page.screenshot` does not pass: the same pixels, compressed less (files ~25 % larger), for
    0.12 s of CPU a page instead of 0.18 s (paired on 98 console pages)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = screenshot_path(folder, name)
    session = page.context.new_cdp_session(page)
    try:
        size = session.send("Page.getLayoutMetrics")["cssContentSize"]
        whole = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = session.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "optimizeForSpeed": True,
                "captureBeyondViewport": True,
                "clip": whole,
            },
        )
    finally:
        session.detach()
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


# -- a static site, for tests of the machinery itself -----------------------------------------
_NOT_FOUND = b"<!DOCTYPE html><title>Not found</title><link rel=icon href='data:,'>Not found"


class StaticSite:
    """Fixed answers on 127.0.0.1: `{"/": ("text/html", b"...")}`; optional extra headers.

    `with StaticSite(files) as site: page.goto(site.url + "/")`.
    """

    def __init__(
        self,
        files: Mapping[str, tuple[str, bytes]],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.files = dict(files)
        self.headers = dict(headers or {})
        self.requests: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=serve_forever, args=(self._httpd,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site.requests.append(self.path)
                found = site.files.get(self.path.split("?", 1)[0])
                if found is None:
                    found = ("text/html", _NOT_FOUND)
                    status = 404
                else:
                    status = 200
                content_type, body = found
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in site.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def __enter__(self) -> StaticSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


PageFactory = Callable[..., "Page"]
