"""The second factor: enrolment, TOTP codes (computed by pyotp as an app would), replays,
recovery codes, and the lock it shares with passwords."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from sqlalchemy import select

from hub.clock import clock, utcnow
from hub.crypto.models import DataKey
from hub.runtime import Runtime
from hub.users import second_factor, sessions
from hub.users.models import RecoveryCode, User, UserSession
from tests.users.conftest import PASSWORD, audit_rows, move


class Desk:
    """One person's sign-in steps, each in its own transaction like a request."""

    def __init__(self, runtime: Runtime, user_id: str) -> None:
        self.runtime = runtime
        self.user_id = user_id
        self.actor = ""
        self.token = self.new_session()

    def new_session(self) -> str:
        with self.runtime.sessions.begin() as db:
            user = db.get(User, self.user_id)
            assert user is not None
            self.actor = sessions.actor_of(user)
            token, _ = sessions.create(db=db, settings=self.runtime.settings, user=user)
            self.token = token
            return token

    def _session(self, db) -> UserSession:  # type: ignore[no-untyped-def]
        session = sessions.resolve(db=db, settings=self.runtime.settings, token=self.token)
        assert session is not None, "the session has ended"
        return session

    def alive(self) -> bool:
        with self.runtime.sessions() as db:
            return (
                sessions.resolve(db=db, settings=self.runtime.settings, token=self.token)
                is not None
            )

    def passed(self) -> bool:
        with self.runtime.sessions() as db:
            return not sessions.needs_second_factor(self._session(db))

    def begin(self) -> str:
        with self.runtime.sessions.begin() as db:
            user = db.get(User, self.user_id)
            assert user is not None
            return second_factor.begin_enrolment(db=db, keyring=self.runtime.keyring, user=user)

    def confirm(self, code: str) -> list[str] | str:
        with self.runtime.sessions.begin() as db:
            session = self._session(db)
            try:
                return second_factor.confirm_enrolment(
                    db=db,
                    keyring=self.runtime.keyring,
                    user=session.user,
                    session=session,
                    code=code,
                    actor=self.actor,
                    settings=self.runtime.settings,
                )
            except second_factor.SecondFactorRefused as refused:
                return refused.code

    def verify(self, code: str) -> str:
        with self.runtime.sessions.begin() as db:
            session = self._session(db)
            try:
                second_factor.verify(
                    db=db,
                    keyring=self.runtime.keyring,
                    user=session.user,
                    session=session,
                    code=code,
                    actor=self.actor,
                    settings=self.runtime.settings,
                )
            except second_factor.SecondFactorRefused as refused:
                return refused.code
            return "ok"

    def user(self) -> User:
        with self.runtime.sessions() as db:
            user = db.get(User, self.user_id)
            assert user is not None
            db.expunge(user)
            return user


def code_at(secret: str, offset_seconds: float = 0) -> str:
    """What an authenticator app shows at the hub's time (moved by the test)."""
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=offset_seconds))


def mid_step() -> None:
    """Moves the hub's clock to the middle of a TOTP step, so a test's steps do not shift
    under it while it runs (every later move is a whole number of steps)."""
    clock.advance(timedelta(seconds=15 - utcnow().timestamp() % 30))


def wrong_code(secret: str) -> str:
    good = {code_at(secret, s) for s in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in good)


@pytest.fixture
def enrolled(runtime: Runtime, make_user: Callable[..., str]) -> tuple[Desk, str, list[str]]:
    """An officer who has enrolled: (their desk, the secret, the recovery codes)."""
    mid_step()
    desk = Desk(runtime, make_user("consent_officer"))
    secret = desk.begin()
    codes = desk.confirm(code_at(secret))
    assert isinstance(codes, list)
    return desk, secret, codes


def test_enrolment_seals_the_secret_until_a_code_confirms_it(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    mid_step()
    desk = Desk(runtime, make_user("consent_officer"))
    secret = desk.begin()
    pending = desk.user()
    assert pending.totp_ciphertext and secret.encode() not in pending.totp_ciphertext
    assert not second_factor.is_enrolled(pending)
    with runtime.sessions() as db:
        user = db.get(User, desk.user_id)
        assert user is not None
        assert second_factor.pending_secret(db=db, keyring=runtime.keyring, user=user) == secret
        assert db.get(DataKey, f"user:{desk.user_id}") is not None
    uri = urlparse(second_factor.provisioning_uri(user=pending, secret=secret))
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [secret]
    assert parse_qs(uri.query)["issuer"] == ["Referral hub"]

    assert desk.confirm(wrong_code(secret)) == "invalid_code"
    assert desk.user().failed_signins == 1
    assert not second_factor.is_enrolled(desk.user())
    assert not desk.passed()

    codes = desk.confirm(code_at(secret))
    assert isinstance(codes, list) and len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c.replace("-", "")) == 10 for c in codes)
    user = desk.user()
    assert second_factor.is_enrolled(user) and user.totp_last_step is not None
    assert user.failed_signins == 0
    assert desk.passed()
    with runtime.sessions() as db:
        hashes = db.scalars(select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(c.replace("-", "") in h for c in codes for h in hashes)
    [entry] = audit_rows(runtime, "user.second_factor_enrolled")
    assert entry["actor"] == desk.actor


def test_a_current_code_passes_and_a_replayed_one_does_not(
    runtime: Runtime, enrolled: tuple[Desk, str, list[str]]
) -> None:
    desk, secret, _ = enrolled
    # the code that confirmed enrolment cannot open another session
    desk.new_session()
    assert not desk.passed()
    assert desk.verify(code_at(secret)) == "invalid_code"
    clock.advance(timedelta(seconds=30))
    code = code_at(secret)
    assert desk.verify(code) == "ok"
    assert desk.passed()
    desk.new_session()
    assert desk.verify(code) == "invalid_code"  # replayed within its window
    # an app a step behind or ahead is accepted, further is not
    clock.advance(timedelta(seconds=90))
    assert desk.verify(code_at(secret, 90)) == "invalid_code"
    assert desk.verify(code_at(secret, -30)) == "ok"
    actions = [e["action"] for e in audit_rows(runtime) if e["action"].startswith("user.second")]
    assert actions.count("user.second_factor_passed") == 2
    assert actions.count("user.second_factor_failed") == 3


def test_a_recovery_code_works_once(
    runtime: Runtime, enrolled: tuple[Desk, str, list[str]]
) -> None:
    desk, _, codes = enrolled
    desk.new_session()
    assert desk.verify(f" {codes[3].lower()} ") == "ok"
    assert desk.passed()
    desk.new_session()
    assert desk.verify(codes[3]) == "invalid_code"
    assert desk.verify(codes[4].replace("-", "")) == "ok"
    with runtime.sessions() as db:
        used = db.scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None))).all()
    assert len(used) == 2
    [first, second] = audit_rows(runtime, "user.recovery_code_used")
    assert (first["details"], second["details"]) == ({"remaining": 9}, {"remaining": 8})


def test_wrong_codes_lock_the_account_with_the_passwords_count(
    runtime: Runtime, enrolled: tuple[Desk, str, list[str]]
) -> None:
    desk, secret, codes = enrolled
    desk.new_session()
    limit = runtime.settings.signin_max_failures
    answers = [desk.verify(wrong_code(secret)) for _ in range(limit)]
    assert answers == ["invalid_code"] * (limit - 1) + ["locked"]
    assert desk.user().locked_until is not None
    assert not desk.alive()  # the half-open session is gone: the password is needed again
    desk.new_session()
    clock.advance(timedelta(seconds=30))
    assert desk.verify(code_at(secret)) == "locked"
    assert desk.verify(codes[0]) == "locked"
    assert len(audit_rows(runtime, "user.locked")) == 1
    move(runtime.settings.signin_lock_minutes + 1)
    desk.new_session()
    assert desk.verify(code_at(secret)) == "ok"


def test_passing_the_password_again_does_not_wipe_out_wrong_codes(
    runtime: Runtime, enrolled: tuple[Desk, str, list[str]]
) -> None:
    from tests.users.test_signin import attempt

    desk, secret, _ = enrolled
    limit = runtime.settings.signin_max_failures
    for _ in range(limit - 1):
        assert attempt(runtime, desk.user().email, PASSWORD) == "ok"
        desk.new_session()
        assert desk.verify(wrong_code(secret)) == "invalid_code"
    assert desk.user().failed_signins == limit - 1
    desk.new_session()
    assert desk.verify(wrong_code(secret)) == "locked"


def test_nothing_secret_reaches_the_audit_log(
    runtime: Runtime, enrolled: tuple[Desk, str, list[str]]
) -> None:
    desk, secret, codes = enrolled
    desk.new_session()
    bad = wrong_code(secret)
    desk.verify(bad)
    desk.verify(codes[0])
    rendered = repr(audit_rows(runtime))
    for value in (secret, *codes, *(c.replace("-", "") for c in codes), PASSWORD):
        assert value not in rendered


def test_reset_forgets_the_secret_and_the_codes(
    runtime: Runtime, enrolled: tuple[Desk, str, list[str]]
) -> None:
    desk, _, codes = enrolled
    with runtime.sessions.begin() as db:
        user = db.get(User, desk.user_id)
        second_factor.reset(db=db, user=user, actor="cli:op")  # type: ignore[arg-type]
    user = desk.user()
    assert user.totp_ciphertext is None and not second_factor.is_enrolled(user)
    with runtime.sessions() as db:
        assert db.scalars(select(RecoveryCode)).all() == []
        assert db.get(DataKey, f"user:{desk.user_id}") is None
    desk.new_session()
    assert desk.verify(codes[1]) == "invalid_code"
    # and enrolment starts again with a new secret
    secret = desk.begin()
    assert isinstance(desk.confirm(code_at(secret)), list)
    assert audit_rows(runtime, "user.second_factor_reset")


def test_a_code_with_no_enrolment_begun_is_refused_and_one_begins(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    desk = Desk(runtime, make_user("admin"))
    assert desk.confirm("123456") == "invalid_code"
    assert desk.verify("123456") == "invalid_code"
    assert desk.user().failed_signins == 2
    with runtime.sessions.begin() as db:
        user = db.get(User, desk.user_id)
        assert user is not None
        secret = second_factor.pending_secret(db=db, keyring=runtime.keyring, user=user)
    mid_step()
    assert isinstance(desk.confirm(code_at(secret)), list)
