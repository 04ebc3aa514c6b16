"""The browser test machinery itself: each check must catch what it is for, and a machine
without a browser must skip (or, in CI, fail) with a reason that says what to install."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hub.runtime import Runtime
from tests.support import browser as support

REPO = Path(__file__).resolve().parents[2]

BAD = (
    "<!DOCTYPE html><html lang='en'><head><title>Bad</title></head><body><main>"
    "<h1>Bad</h1><img src='data:,'><input type='text' id='name'></main></body></html>"
)
GOOD = (
    "<!DOCTYPE html><html lang='en'><head><title>Good</title></head><body><main>"
    "<h1>Good</h1><img src='data:,' alt='A dot'>"
    "<label for='name'>Name</label><input type='text' id='name'></main></body></html>"
)
# text outside any landmark: axe's "region" rule, of moderate impact only
MINOR = (
    "<!DOCTYPE html><html lang='en'><head><title>Minor</title></head><body>"
    "<p>Outside a landmark</p><main><h1>Minor</h1></main></body></html>"
)


# -- the live hub ------------------------------------------------------------------------------
@pytest.mark.browser
def test_the_live_hub_answers_the_browser(live_hub: Any, runtime: Runtime, page: Any) -> None:
    assert live_hub.runtime is runtime
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", live_hub.url)
    answer = page.goto(f"{live_hub.url}/healthz")
    assert answer is not None and answer.status == 200
    assert answer.json() == {"status": "ok"}


def test_the_live_hub_stops_and_frees_its_port(runtime: Runtime) -> None:
    import httpx

    with support.LiveHub(runtime) as hub:
        assert httpx.get(f"{hub.url}/healthz").json() == {"status": "ok"}
        url = hub.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=2)


# -- axe-core --------------------------------------------------------------------------------
@pytest.mark.browser
def test_axe_check_fails_on_an_inaccessible_page(page: Any, axe_check: Callable) -> None:
    page.set_content(BAD)
    with pytest.raises(AssertionError) as failure:
        axe_check(page)
    report = str(failure.value)
    assert "image-alt (critical)" in report
    assert re.search(r"label \((serious|critical)\)", report)
    assert "at img" in report and "at #name" in report  # the nodes, by their selectors


@pytest.mark.browser
def test_axe_check_passes_a_good_page_and_ignores_minor_findings(
    page: Any, axe_check: Callable
) -> None:
    page.set_content(GOOD)
    axe_check(page)
    page.set_content(MINOR)
    axe_check(page)  # moderate only: not a failure
    minor = support.axe_violations(page, impacts=("moderate",))
    assert [v["id"] for v in minor] == ["region"]


@pytest.mark.browser
def test_axe_leaves_out_only_rules_that_cannot_report_the_impacts_asked_about(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page.set_content(
        "<!DOCTYPE html><html lang='en'><head><title>Many</title></head><body>"
        "<p>Outside a landmark</p><main><h1>Many</h1><h4>Skipped levels</h4><h2></h2>"
        "<img src='data:,'><input type='text' id='name'></main></body></html>"
    )
    every_rule = Axe().run(page).response["violations"]  # axe-core with all its rules
    for impacts in (("serious", "critical"), ("moderate",), ("minor",)):
        expected = sorted(v["id"] for v in every_rule if v["impact"] in impacts)
        assert expected, impacts  # the page has some of each
        found = support.axe_violations(page, impacts)
        assert sorted(v["id"] for v in found) == expected, impacts


@pytest.mark.browser
def test_axe_runs_under_a_strict_content_security_policy(
    page: Any, axe_check: Callable, browser_errors: support.BrowserErrors
) -> None:
    csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:"
    with support.StaticSite(
        {"/": ("text/html", GOOD.encode())}, {"Content-Security-Policy": csp}
    ) as site:
        page.goto(f"{site.url}/")
        axe_check(page)
        assert browser_errors.errors == []  # injecting axe did not trip the CSP
        page.set_content(BAD)
        with pytest.raises(AssertionError):
            axe_check(page)  # and it still finds what is wrong

        # the policy does bite: a script added to the page as an inline tag is refused
        page.goto(f"{site.url}/")
        from playwright.sync_api import Error

        with pytest.raises(Error, match="violates the following Content Security Policy"):
            page.add_script_tag(content="window.ranInline = true;")
        assert page.evaluate("window.ranInline === undefined")
    caught = browser_errors.take()
    assert any("Content Security Policy" in e for e in caught), caught


# -- page weight -------------------------------------------------------------------------------
@pytest.mark.browser
def test_page_weight_counts_the_document_and_what_it_loads(
    page: Any, page_weight: Callable[[Any, str], int]
) -> None:
    css = b"body { color: #111; }\n" + b"/*" + b"x" * 20_000 + b"*/\n"
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 3_000  # not a real image: the bytes still count
    html = (
        b"<!DOCTYPE html><html lang='en'><head><title>W</title>"
        b"<link rel='icon' href='data:,'><link rel='stylesheet' href='/site.css'></head>"
        b"<body><main><h1>W</h1>"
        b"<p>" + b"words " * 800 + b"</p></main></body></html>"
    )
    files = {"/": ("text/html", html), "/site.css": ("text/css", css)}
    with support.StaticSite(files) as site:
        page.goto(f"{site.url}/")
        weight = page_weight(page, f"{site.url}/")
        again = page_weight(page, f"{site.url}/")
        bodies = len(html) + len(css)
        assert bodies <= weight <= bodies + 256, (weight, bodies)  # the bodies, little else
        assert again == weight  # a fresh context each time: nothing comes from a cache
        assert site.requests.count("/site.css") == 3  # and asked for each time
        assert page.url == f"{site.url}/"  # the test's own page stays where it was

        site.files["/"] = (
            "text/html",
            html.replace(b"</main>", b"<img src='/i.png' alt=''></main>"),
        )
        site.files["/i.png"] = ("image/png", png)
        with_image = page_weight(page, f"{site.url}/")
        grown = len(png) + len(b"<img src='/i.png' alt=''>")
        assert grown <= with_image - weight <= grown + 256, (with_image, weight, grown)


# -- errors in the browser -----------------------------------------------------------------
@pytest.mark.browser
def test_a_script_error_and_a_console_error_are_caught(
    page: Any, browser_errors: support.BrowserErrors
) -> None:
    page.set_content("<script>console.error('logged: 42'); throw new Error('boom');</script>")
    caught = browser_errors.take()
    assert any("console error" in e and "logged: 42" in e for e in caught), caught
    assert any("page error" in e and "boom" in e for e in caught), caught
    # once taken they are forgotten, and the test passes


@pytest.mark.browser
def test_a_content_security_policy_violation_is_caught(
    page: Any, browser_errors: support.BrowserErrors
) -> None:
    html = (
        b"<!DOCTYPE html><html lang='en'><head><title>CSP</title>"
        b"<style>body { color: red; }</style></head><body><main><h1>CSP</h1>"
        b"<script>document.title = 'ran';</script></main></body></html>"
    )
    csp = "default-src 'none'; script-src 'self'; style-src 'self'"
    with support.StaticSite({"/": ("text/html", html)}, {"Content-Security-Policy": csp}) as site:
        page.goto(f"{site.url}/")
    assert page.title() == "CSP"  # the inline script was refused
    caught = browser_errors.take()
    assert any("Content Security Policy" in e and "script-src" in e for e in caught), caught
    assert any("Content Security Policy" in e and "style-src" in e for e in caught), caught


@pytest.mark.browser
def test_a_missing_subresource_is_caught_but_a_page_that_is_a_404_is_not(
    page: Any, browser_errors: support.BrowserErrors
) -> None:
    html = (
        b"<!DOCTYPE html><html lang='en'><head><title>S</title><link rel='icon' href='data:,'>"
        b"<link rel='stylesheet' href='/gone.css'></head><body></body></html>"
    )
    with support.StaticSite({"/": ("text/html", html)}) as site:
        answer = page.goto(f"{site.url}/nowhere")
        assert answer is not None and answer.status == 404
        assert browser_errors.errors == []
        page.goto(f"{site.url}/")
    caught = browser_errors.take()
    assert len(caught) == 1 and "status of 404" in caught[0], caught


@pytest.mark.browser
def test_errors_fail_the_test_unless_allowed(
    page: Any,
    browser_errors: support.BrowserErrors,
    allow_console: list[re.Pattern[str] | str],
) -> None:
    page.set_content("<script>console.error('expected: 400'); console.error('other');</script>")
    with pytest.raises(AssertionError, match="other") as failure:
        support.BrowserErrors(errors=list(browser_errors.errors)).check()
    assert "expected: 400" in str(failure.value)
    allow_console.append(re.compile(r"expected: \d+"))
    allow_console.append("other")
    browser_errors.check()  # all allowed: passes
    assert browser_errors.errors == []


# -- pages -------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.parametrize("locale", ["fr-FR"])
def test_pages_take_the_locale_and_the_size_asked_for(
    page: Any, narrow_page: Any, new_page: Callable[..., Any]
) -> None:
    assert page.evaluate("navigator.language") == "fr-FR"
    assert page.evaluate("[innerWidth, innerHeight]") == [1280, 900]
    assert narrow_page.evaluate("[innerWidth, innerHeight]") == [360, 740]
    assert narrow_page.evaluate("navigator.language") == "fr-FR"
    other = new_page(locale="en-GB", width=800, height=600)
    assert other.evaluate("[navigator.language, innerWidth, innerHeight]") == ["en-GB", 800, 600]
    assert other.context is not page.context


@pytest.mark.browser
def test_a_screenshot_is_a_full_page_png(
    page: Any, screenshot: Callable[[Any, str], Path], screenshot_dir: Path
) -> None:
    page.set_content("<main><h1>Tall</h1><div style='height:3000px'></div></main>")
    path = screenshot(page, "support/tall page")
    assert path == screenshot_dir / "support-tall-page.png"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    height = int.from_bytes(data[20:24], "big")  # IHDR
    assert height > 3000  # the whole page, not the 900px viewport


def test_the_database_only_pass_leaves_axe_and_screenshots_to_the_sqlite_pass(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(support, "MARKUP_JUDGED_IN_SQLITE_PASS", True)
    left = request.config.stash.setdefault(support.MARKUP_LEFT, [])
    before = len(left)
    axe_check = request.getfixturevalue("axe_check")
    screenshot = request.getfixturevalue("screenshot")
    page = SimpleNamespace(url="http://127.0.0.1/console/cases")  # neither may touch it
    axe_check(page)
    path = screenshot(page, "left/for the other pass")
    assert path == request.getfixturevalue("screenshot_dir") / "left-for-the-other-pass.png"
    assert not path.exists()
    assert left[before:] == [
        "axe http://127.0.0.1/console/cases",
        "screenshot left/for the other pass",
    ]
    del left[before:]


# -- no browser: skip with the reason, or fail in CI ------------------------------------------
def test_a_missing_chromium_is_named_with_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(support.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    reason = support.missing()
    assert reason is not None
    assert f"HUB_CHROMIUM={tmp_path / 'no-chromium'} is not an executable file" in reason
    assert "apt-get install -y chromium" in reason

    monkeypatch.delenv(support.CHROMIUM_ENV)
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing called chromium there
    reason = support.missing()
    assert reason is not None and "no `chromium` executable on PATH" in reason
    assert "apt-get install -y chromium" in reason


def test_a_missing_axe_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "axe_playwright_python.sync_playwright", None)
    reason = support.missing()
    assert reason is not None
    assert "the Python package axe-playwright-python, which is not installed" in reason
    assert "pip install -e '.[test]'" in reason


def test_a_missing_browser_skips_or_fails_when_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(support.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    monkeypatch.delenv(support.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        support.require_browser()
    monkeypatch.setenv(support.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="HUB_REQUIRE_BROWSER=1 but"):
        support.require_browser()


def _run_pytest(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in (support.REQUIRE_ENV,)}
    # the property-based testing plugins (hypothesis, schemathesis) serve no test run here and
    # are most of a pytest start: ~2 s of CPU in each of these runs
    plugins = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:schemathesis"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, "-rsfE", "-q", *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("required", [False, True], ids=["skipped", "required"])
def test_the_browser_tests_without_a_browser(tmp_path: Path, required: bool) -> None:
    env = {support.CHROMIUM_ENV: str(tmp_path / "no-chromium")}
    if required:
        env[support.REQUIRE_ENV] = "1"
    run = _run_pytest(
        tmp_path,
        env,
        f"{Path(__file__).relative_to(REPO)}::test_the_live_hub_answers_the_browser",
        f"--basetemp={tmp_path / 'inner'}",
    )
    out = run.stdout + run.stderr
    if required:
        assert run.returncode == 1, out
        assert "1 failed" in out or "1 error" in out, out
        assert "HUB_REQUIRE_BROWSER=1 but browser tests need Debian's Chromium" in out, out
    else:
        assert run.returncode == 0, out
        assert "1 skipped" in out, out
        assert "apt-get install -y chromium" in out, out


def test_a_missing_python_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import raises ImportError
    reason = support.missing()
    assert reason is not None and "the Python package playwright" in reason
    assert "pip install -e '.[test]'" in reason


@pytest.mark.browser
def test_the_run_names_its_screenshot_folder_at_the_end(tmp_path: Path) -> None:
    support.require_browser()
    shots = tmp_path / "shots"
    run = _run_pytest(
        tmp_path,
        {support.SCREENSHOT_ENV: str(shots)},
        f"{Path(__file__).relative_to(REPO)}::test_a_screenshot_is_a_full_page_png",
        f"--basetemp={tmp_path / 'inner'}",
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert f"console screenshots: {shots} (1 files)" in out, out
    assert [p.name for p in shots.iterdir()] == ["support-tall-page.png"]
