"""Signing in: the password, the second factor where the role needs it, sessions, sign-out."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.runtime import Runtime
from hub.users.models import UserSession
from tests.support import factories
from tests.support.people import csrf_of, person, sign_in


def _office(runtime: Runtime) -> str:
    with runtime.sessions.begin() as db:
        return factories.org(db, runtime.policy, "IOM Niamey", kind="iom_office").id


def test_a_case_worker_signs_in_with_a_password_alone(runtime: Runtime, api: TestClient) -> None:
    worker = person(runtime, _office(runtime), "case_worker")
    sign_in(api, worker, enrol=False)
    home = api.get("/console")
    assert home.status_code == 200
    assert worker.email in home.text
    assert "Reviews" not in home.text  # not an officer: no queue in the navigation


def test_an_officer_enrols_a_second_factor_then_needs_it(runtime: Runtime, api: TestClient) -> None:
    officer = person(runtime, _office(runtime), "consent_officer")
    sign_in(api, officer)
    assert officer.totp_secret
    assert api.get("/console/reviews").status_code == 200
    with runtime.sessions() as db:
        session = db.scalars(select(UserSession)).one()
        assert session.second_factor_at is not None


def test_a_password_alone_does_not_open_an_officers_pages(
    runtime: Runtime, api: TestClient
) -> None:
    officer = person(runtime, _office(runtime), "consent_officer")
    form = api.get("/console/sign-in")
    api.post(
        "/console/sign-in",
        data={
            "csrf_token": csrf_of(form.text),
            "email": officer.email,
            "password": officer.password,
        },
        follow_redirects=False,
    )
    for path in ("/console", "/console/reviews"):
        answer = api.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/second-factor/enrol"


def test_a_wrong_password_says_so_without_saying_which_part(
    runtime: Runtime, api: TestClient
) -> None:
    worker = person(runtime, _office(runtime), "case_worker")
    answers = []
    for email, password in ((worker.email, "not the password"), ("nobody@example.org", "x" * 12)):
        # each answer is a new form, with a new token
        form = api.get("/console/sign-in")
        answers.append(
            api.post(
                "/console/sign-in",
                data={"csrf_token": csrf_of(form.text), "email": email, "password": password},
            )
        )
    for answer in answers:
        assert answer.status_code == 400
        assert "The e-mail address or the password is not right." in answer.text
        assert 'class="error-summary"' in answer.text
    with runtime.sessions() as db:
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.signin_failed"))
        rendered = " ".join(str(e.details) for e in entries)
    assert rendered and "not the password" not in rendered


def test_sign_out_ends_the_session_on_the_server(runtime: Runtime, api: TestClient) -> None:
    worker = person(runtime, _office(runtime), "case_worker")
    sign_in(api, worker, enrol=False)
    cookie = api.cookies.get("hub_session")
    home = api.get("/console")
    out = api.post(
        "/console/sign-out", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    # the old cookie, replayed, no longer opens anything
    api.cookies.set("hub_session", cookie)
    assert api.get("/console", follow_redirects=False).status_code == 303
    with runtime.sessions() as db:
        assert db.scalars(select(UserSession)).one().revoked_at is not None


def test_over_https_the_session_cookie_is_a_host_cookie(runtime: Runtime, api: TestClient) -> None:
    worker = person(runtime, _office(runtime), "case_worker")
    with TestClient(api.app, base_url="https://hub.example") as secure:
        form = secure.get("/console/sign-in")
        answer = secure.post(
            "/console/sign-in",
            data={
                "csrf_token": csrf_of(form.text),
                "email": worker.email,
                "password": worker.password,
            },
            follow_redirects=False,
        )
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("__Host-hub_session=")
    )
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "path=/", "samesite=lax"} <= attributes
    assert not any(a.startswith("domain") for a in attributes)
    # over plain http (a local try-out) browsers refuse the prefix, so the bare name is used
    plain = api.get("/console/sign-in")
    assert "__Host-" not in "".join(plain.headers.get_list("set-cookie"))


def test_a_persons_language_is_kept_and_wins_over_the_browser(
    runtime: Runtime, api: TestClient
) -> None:
    worker = person(runtime, _office(runtime), "case_worker")
    sign_in(api, worker, enrol=False)
    english = {"Accept-Language": "en-GB"}
    account = api.get("/console/account", headers=english)
    saved = api.post(
        "/console/account/language",
        data={"csrf_token": csrf_of(account.text), "language": "fr"},
        headers=english,
    )
    assert saved.status_code == 200 and '<html lang="fr">' in saved.text
    assert '<html lang="fr">' in api.get("/console", headers=english).text
    # the switch still changes the page at once
    assert '<html lang="en">' in api.get("/console?lang=en", headers=english).text
