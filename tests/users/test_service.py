import pytest
from argon2 import PasswordHasher

from hub.api.problems import Problem
from hub.auth import clients
from hub.runtime import Runtime
from hub.users import service
from hub.users.models import User
from tests.support.factories import org
from tests.support.hashing import CHEAP, PRODUCTION

PASSWORD = "correct horse battery"


def test_passwords_are_stored_as_argon2_and_checked(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        o = org(db, runtime.policy, "NGO")
        user = service.create(
            db=db,
            actor="t",
            organization_id=o.id,
            email="Officer@NGO.org",
            password=PASSWORD,
            role="consent_officer",
        )
        assert user.email == "officer@ngo.org"
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
    with runtime.sessions() as db:
        assert service.authenticate(db=db, email="officer@ngo.org", password=PASSWORD)
        assert service.authenticate(db=db, email="OFFICER@ngo.org", password=PASSWORD)
        assert service.authenticate(db=db, email="officer@ngo.org", password="wrong" * 4) is None
        assert service.authenticate(db=db, email="nobody@ngo.org", password=PASSWORD) is None


def test_disabled_users_cannot_sign_in(runtime: Runtime) -> None:
    from hub.clock import utcnow

    with runtime.sessions.begin() as db:
        o = org(db, runtime.policy, "NGO")
        user = service.create(
            db=db,
            actor="t",
            organization_id=o.id,
            email="a@ngo.org",
            password=PASSWORD,
            role="case_worker",
        )
        user.disabled_at = utcnow()
    with runtime.sessions() as db:
        assert service.authenticate(db=db, email="a@ngo.org", password=PASSWORD) is None


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"role": "superuser"}, "unknown_value"),
        ({"password": "short"}, "weak_password"),
        ({"email": "not-an-email"}, "invalid_email"),
    ],
)
def test_bad_input_is_refused(runtime: Runtime, kwargs: dict[str, str], code: str) -> None:
    with runtime.sessions.begin() as db:
        o = org(db, runtime.policy, "NGO")
        args = {"email": "a@ngo.org", "password": PASSWORD, "role": "case_worker"} | kwargs
        with pytest.raises(Problem) as err:
            service.create(db=db, actor="t", organization_id=o.id, **args)
        assert err.value.code == code
        assert db.query(User).count() == 0


def test_emails_are_unique_whatever_the_case(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        o = org(db, runtime.policy, "NGO")
        service.create(
            db=db,
            actor="t",
            organization_id=o.id,
            email="a@ngo.org",
            password=PASSWORD,
            role="case_worker",
        )
        with pytest.raises(Problem) as dup:
            service.create(
                db=db,
                actor="t",
                organization_id=o.id,
                email="A@NGO.org",
                password=PASSWORD,
                role="admin",
            )
    assert dup.value.code == "email_taken"


def test_a_person_chooses_a_language_or_leaves_it_to_the_browser(runtime: Runtime) -> None:
    from sqlalchemy import select

    from hub.audit.models import AuditEntry

    with runtime.sessions.begin() as db:
        o = org(db, runtime.policy, "NGO")
        user = service.create(
            db=db,
            actor="t",
            organization_id=o.id,
            email="a@ngo.org",
            password=PASSWORD,
            role="case_worker",
        )
        service.set_language(db=db, actor="user:x", user=user, language="fr")
        assert user.language == "fr"
        with pytest.raises(Problem) as unknown:
            service.set_language(db=db, actor="user:x", user=user, language="de")
        assert unknown.value.code == "unknown_value"
        service.set_language(db=db, actor="user:x", user=user, language=None)
        assert user.language is None
    with runtime.sessions() as db:
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.language_set"))
        assert [e.details for e in entries] == [{"language": "fr"}, {"language": None}]


def test_a_user_is_found_by_id_or_e_mail(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        o = org(db, runtime.policy, "NGO")
        user = service.create(
            db=db,
            actor="t",
            organization_id=o.id,
            email="a@ngo.org",
            password=PASSWORD,
            role="case_worker",
        )
        assert service.get_by_ref(db=db, ref=user.id) is user
        assert service.get_by_ref(db=db, ref=" A@NGO.org ") is user
        for ref in ("", "b@ngo.org", "0" * 32):
            assert service.get_by_ref(db=db, ref=ref) is None


def test_the_hub_hashes_at_its_own_cost_and_the_tests_cheap_hashes_check_those_too() -> None:
    """The suite swaps the hub's argon2 hashers for cheap ones (tests/support/hashing.py): the
    hub's own are untouched, and a hash made at their cost verifies under the swap."""
    default = PasswordHasher()
    users_hasher = PRODUCTION["users"]
    assert (users_hasher.time_cost, users_hasher.memory_cost, users_hasher.parallelism) == (
        default.time_cost,
        default.memory_cost,
        default.parallelism,
    )
    clients_hasher = PRODUCTION["clients"]
    assert (clients_hasher.time_cost, clients_hasher.memory_cost) == (1, 19_456)
    assert service._hasher is CHEAP and clients._hasher is CHEAP
    made_by_the_hub = users_hasher.hash(PASSWORD)
    assert "$m=65536,t=3,p=4$" in made_by_the_hub
    assert service._hasher.verify(made_by_the_hub, PASSWORD)
