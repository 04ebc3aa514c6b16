"""The console's frame: where it lives, what every answer carries, who gets in."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support import factories
from tests.support.people import csrf_of, person, sign_in


def test_the_root_leads_to_the_console(api: TestClient) -> None:
    answer = api.get("/", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/console"


def test_a_stranger_is_sent_to_sign_in_and_back(api: TestClient) -> None:
    answer = api.get("/console/reviews", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?next=/console/reviews"


def test_every_page_forbids_framing_inline_code_and_caching(api: TestClient) -> None:
    page = api.get("/console/sign-in")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "http" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    # no inline script or style in the markup itself
    assert "<script" not in page.text and "style=" not in page.text and "<style" not in page.text


def test_the_api_keeps_its_own_headers(api: TestClient) -> None:
    assert "content-security-policy" not in api.get("/healthz").headers


def test_the_stylesheet_is_served_by_the_hub_and_may_be_cached(api: TestClient) -> None:
    css = api.get("/console/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "max-age" in css.headers["cache-control"]


def test_a_form_without_its_csrf_token_is_refused(runtime: Runtime, api: TestClient) -> None:
    with runtime.sessions.begin() as db:
        office = factories.org(db, runtime.policy, "IOM Agadez", kind="iom_office")
    worker = person(runtime, office.id, "case_worker")
    api.get("/console/sign-in")  # sets the sign-in cookie, but the form omits the token
    refused = api.post(
        "/console/sign-in",
        data={"email": worker.email, "password": worker.password},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert "hub_session" not in refused.cookies
    sign_in(api, worker)
    home = api.get("/console")
    assert home.status_code == 200
    for data in ({}, {"csrf_token": "forged"}):
        sign_out = api.post("/console/sign-out", data=data, follow_redirects=False)
        assert sign_out.status_code == 403
    # still signed in: the forged sign-out did nothing
    assert api.get("/console", follow_redirects=False).status_code == 200
    assert csrf_of(home.text)


def test_the_language_follows_the_query_then_the_browser(api: TestClient) -> None:
    french = api.get("/console/sign-in", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in french.text and "Se connecter" in french.text
    english = api.get("/console/sign-in?lang=en", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    # the switch is remembered for the next pages
    assert api.get("/console/sign-in", headers={"Accept-Language": "fr"}).text.count(
        '<html lang="en">'
    )


def test_an_unknown_console_address_is_a_page_not_json(api: TestClient) -> None:
    answer = api.get("/console/no-such-page")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Page not found" in answer.text
    assert answer.headers["x-frame-options"] == "DENY"


def test_pages_name_the_stylesheet_by_its_content(api: TestClient) -> None:
    # a cached copy is used for a day: the address changes whenever the stylesheet does
    page = api.get("/console/sign-in").text
    css = api.get("/console/static/console.css").content
    version = hashlib.sha256(css).hexdigest()[:12]
    assert f'href="/console/static/console.css?v={version}"' in page
