"""People at the console, made through the real services, and signed in the way a browser does."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pyotp
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from hub.users import service as users

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')


@dataclass
class Person:
    id: str
    email: str
    organization_id: str
    role: str
    password: str = PASSWORD
    totp_secret: str | None = None

    def code(self) -> str:
        assert self.totp_secret, "not enrolled"
        return pyotp.TOTP(self.totp_secret).now()


def person(runtime: Runtime, organization_id: str, role: str, email: str | None = None) -> Person:
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    with runtime.sessions.begin() as db:
        user = users.create(
            db=db,
            actor="test",
            organization_id=organization_id,
            email=email,
            password=PASSWORD,
            role=role,
        )
        return Person(user.id, email, organization_id, role)


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, who: Person, *, enrol: bool = True) -> None:
    """Through the pages: the sign-in form, then the second factor (enrolling if needed)."""
    form = client.get("/console/sign-in")
    assert form.status_code == 200, form.text
    answer = client.post(
        "/console/sign-in",
        data={"csrf_token": csrf_of(form.text), "email": who.email, "password": who.password},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    target = answer.headers["location"]
    if target.endswith("/second-factor/enrol"):
        assert enrol, "enrolment was not expected"
        page = client.get(target)
        match = SECRET.search(page.text)
        assert match, "the enrolment page shows no key"
        who.totp_secret = match.group(1).replace(" ", "")
        done = client.post(target, data={"csrf_token": csrf_of(page.text), "code": who.code()})
        assert done.status_code == 200 and "recovery" in done.text.lower(), done.text
    elif target.endswith("/second-factor"):
        page = client.get(target)
        done = client.post(
            target,
            data={"csrf_token": csrf_of(page.text), "code": who.code()},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
