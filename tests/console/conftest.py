"""Browser fixtures for the console: a live hub, Chromium, axe-core, screenshots, page weight.

    def test_sign_in_page(live_hub, new_page, axe_check, screenshot, page_weight):
        page = new_page(locale="fr-FR")            # or the `page` fixture (locale: `locale`)
        page.goto(f"{live_hub.url}/console/sign-in")
        axe_check(page)                            # fails on serious or critical violations
        screenshot(page, "fr-sign-in")             # <run's screenshot folder>/fr-sign-in.png
        assert page_weight(page, page.url) < 100 * 1024

Every page opened here fails its test on a console error, an uncaught script error or a
Content-Security-Policy violation, except messages the test allows with
`allow_console.append(re.compile(...))`; `browser_errors.take()` hands over (and forgets) what
was collected, for a test that expects an error. The error Chromium logs for a page's own
4xx/5xx document is ignored (assert on the answer's status instead).

A test that acts in the referral world asks for `live_hub` and `world` (the one definition,
tests/support/worlds.py): both are made on the test's `runtime`, so the browser sees on
`live_hub.url` what `world` made; a file needs no `world` fixture of its own.

    def test_a_case_worker_reads_a_referral(live_hub, world, new_page):
        case_id = world.case()                     # through the API, as in tests/referrals
        page = new_page()
        page.goto(f"{live_hub.url}/console/cases/{case_id}")

A test using a browser is marked `browser` (`pytest -m "not browser"` leaves them out). Without
Chromium or Playwright they are skipped with the reason; with `HUB_REQUIRE_BROWSER=1` (as in
.ci/run) they fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from _pytest.nodeid import coerce_node_id
from fastapi import FastAPI

from hub.app import bind
from hub.runtime import Runtime
from tests.support import browser as support

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

_CHROMIUM = pytest.StashKey[support.Chromium]()


def _chromium(config: pytest.Config) -> support.Chromium:
    return config.stash.setdefault(_CHROMIUM, support.Chromium())


def _uses_browser(item: pytest.Item | None) -> bool:
    return item is not None and "browser" in getattr(item, "fixturenames", ())


# -- hooks --------------------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Whatever uses the browser is marked `browser`, so `-m "not browser"` leaves it out; under
    pytest-xdist all of them run on one worker, one after the other, sharing its Chromium."""
    grouped = bool(getattr(config.option, "loadgroup", False))  # an xdist worker, `loadgroup`
    for item in items:
        if _uses_browser(item) and item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.xdist_group(BROWSER_GROUP))
            if grouped:
                _join_group(item, BROWSER_GROUP)


BROWSER_GROUP = "browser"


def _join_group(item: pytest.Item, group: str) -> None:
    """The node id `<id>@<group>` by which xdist's `loadgroup` sends a group to one worker.

    pytest-xdist 3.8 writes that suffix into `item._nodeid`, which pytest 9 no longer reads (a
    node's id is `item._id`): every group was silently dropped, and the browser tests were
    dealt out one by one among the others, on every worker, Chromium started again after each
    run of them (~20 runs on two workers in a pass of the suite). The suffix is written here
    where pytest 9 keeps the id; xdist's own attempt after this one changes nothing."""
    if not item.nodeid.endswith(f"@{group}"):
        item._id = coerce_node_id(f"{item.nodeid}@{group}")  # type: ignore[attr-defined]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or, with HUB_REQUIRE_BROWSER=1, fail) before any database or server is made."""
    if _uses_browser(item):
        support.require_browser()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A test that passed fails if the browser reported errors; one that failed shows them."""
    errors = getattr(item, "funcargs", {}).get("browser_errors")
    try:
        result = yield
    except BaseException:
        if isinstance(errors, support.BrowserErrors) and errors.unexpected():
            item.add_report_section("call", "browser errors", errors.report())
            errors.errors = []
        raise
    if isinstance(errors, support.BrowserErrors) and errors.unexpected():
        report = errors.report()
        errors.errors = []
        pytest.fail(report, pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """After the test's fixtures are gone, stop Chromium when the next test does not need it
    (see support.Chromium)."""
    try:
        return (yield)
    finally:
        chromium = item.config.stash.get(_CHROMIUM, None)
        if chromium is not None and chromium.running and not _uses_browser(nextitem):
            chromium.stop()


def pytest_unconfigure(config: pytest.Config) -> None:
    chromium = config.stash.get(_CHROMIUM, None)
    if chromium is not None:
        chromium.stop()


# -- the hub --------------------------------------------------------------------------------------
@pytest.fixture
def live_hub(runtime: Runtime, _app: FastAPI) -> Iterator[support.LiveHub]:
    """The process's app serving the test's runtime (as `api` does) on a real port of
    127.0.0.1: `.url`, `.runtime`, `.port`."""
    with support.LiveHub(runtime, app=bind(_app, runtime)) as hub:
        yield hub


# -- the browser ----------------------------------------------------------------------------------
@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Browser:
    """The run's Chromium (Playwright, sync API), started once for consecutive browser tests."""
    support.require_browser()
    return _chromium(request.config).get()


@pytest.fixture
def locale() -> str:
    """The `page` fixture's locale; `@pytest.mark.parametrize("locale", ["fr-FR"])` changes it."""
    return "en-GB"


@pytest.fixture
def browser_errors() -> support.BrowserErrors:
    """Console errors, page errors and CSP violations of this test's pages."""
    return support.BrowserErrors()


@pytest.fixture
def allow_console(browser_errors: support.BrowserErrors) -> list[re.Pattern[str] | str]:
    """Patterns of browser errors this test expects (e.g. `re.compile("status of 400")`)."""
    return browser_errors.allowed


@pytest.fixture
def _pages(
    request: pytest.FixtureRequest,
    browser: Browser,
    browser_errors: support.BrowserErrors,
    locale: str,
) -> Iterator[support.Pages]:
    pages = support.Pages(_chromium(request.config), browser_errors, default_locale=locale)
    yield pages
    pages.close()
    browser_errors.check()  # anything reported while the pages closed


@pytest.fixture
def new_page(_pages: support.Pages) -> Callable[..., Page]:
    """`new_page(locale=None, width=1280, height=900, **context_options) -> Page`: a page in a
    context of its own (e.g. `storage_state=page.context.storage_state()` to stay signed in)."""
    return _pages.open


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A page 1280x900 in the `locale` fixture's locale."""
    return new_page()


@pytest.fixture
def narrow_page(new_page: Callable[..., Page]) -> Page:
    """A page 360x740 (a small phone), in the `locale` fixture's locale."""
    return new_page(width=support.NARROW[0], height=support.NARROW[1])


# -- checks ---------------------------------------------------------------------------------------
@pytest.fixture
def axe_check(request: pytest.FixtureRequest) -> Callable[[Page], None]:
    """`axe_check(page)`: fails listing every axe-core violation of impact serious or critical
    (id, impact, help, the nodes). Injected through page.evaluate, which the CSP does not block.

    In the database-only pass (`MARKUP_JUDGED_IN_SQLITE_PASS`) the page is counted, not judged."""
    if support.MARKUP_JUDGED_IN_SQLITE_PASS:
        left = request.config.stash.setdefault(support.MARKUP_LEFT, [])
        return lambda page: left.append(f"axe {page.url}")
    return support.axe_check


@pytest.fixture
def page_weight(_pages: support.Pages) -> Callable[[Page, str], int]:
    """`page_weight(page, url) -> int`: bytes transferred to load `url` (document and
    subresources, headers included), in a fresh context with `page`'s cookies, nothing cached."""
    return _pages.weight


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """`$HUB_SCREENSHOT_DIR`, or `<repo>/.screenshots/` (printed at the end of the run)."""
    return support.screenshot_dir()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest, screenshot_dir: Path) -> Callable[[Page, str], Path]:
    """`screenshot(page, name) -> Path`: a full-page PNG `<screenshot_dir>/<name>.png` (none in
    the database-only pass, `MARKUP_JUDGED_IN_SQLITE_PASS`: the path it would have)."""
    shots = request.config.stash.setdefault(support.SHOTS, [])
    left = request.config.stash.setdefault(support.MARKUP_LEFT, [])

    def take(page: Page, name: str) -> Path:
        if support.MARKUP_JUDGED_IN_SQLITE_PASS:
            left.append(f"screenshot {name}")
            return support.screenshot_path(screenshot_dir, name)
        path = support.save_screenshot(page, screenshot_dir, name)
        shots.append(path)
        return path

    return take
