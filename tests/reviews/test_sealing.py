"""Justifications written in clear before migration 0009 are sealed by the one-time step that
`hub db upgrade` (and `hub serve`) run: gone from the database files, still read back while
the case lives, dropped for a case already erased, audited as counts, and idempotent."""

from __future__ import annotations

from sqlalchemy import select, update

from hub.audit.models import AuditEntry
from hub.cases import service as cases
from hub.cases.models import Case
from hub.reviews import service as reviews
from hub.reviews.models import Review
from hub.reviews.sealing import ACTION
from hub.runtime import Runtime
from hub.settings import Settings
from tests.cli.test_keys import hub_in_process, one_json
from tests.support import at_rest, factories
from tests.support.reviews import held_request, officer_actor

OLD = "Canary: Ysmerelda Tcharkouni's cousin works at the ministry"
ERASED = "Canary: Balthazine Oumarou asked us to hold it until Monday"


def decided_the_old_way(runtime: Runtime, office: str, text: str) -> str:
    """A review denied with `text` stored as it was before justifications were sealed."""
    review_id = held_request(runtime, office)
    officer = officer_actor(runtime, office)
    with runtime.sessions.begin() as db:
        reviews.decide(
            db=db,
            review=db.get_one(Review, review_id),
            actor=officer,
            outcome="denied",
            justification="placeholder",
        )
    with runtime.sessions.begin() as db:
        db.execute(
            update(Review)
            .where(Review.id == review_id)
            .values(justification=text, justification_ciphertext=None)
        )
    return review_id


def files(settings: Settings) -> bytes:
    return b"".join(path.read_bytes() for path in at_rest.sqlite_files(settings))


def audited(runtime: Runtime) -> list[AuditEntry]:
    with runtime.sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == ACTION)))


def test_hub_db_upgrade_seals_clear_justifications(settings: Settings, runtime: Runtime) -> None:
    # on PostgreSQL the clear text stays in dead row versions until VACUUM (docs/security.md):
    # the files are looked into on SQLite only
    sqlite = settings.is_sqlite
    with runtime.sessions.begin() as db:
        office = factories.org(db, runtime.policy, "IOM Agadez", kind="iom_office").id
    kept = decided_the_old_way(runtime, office, OLD)
    gone = decided_the_old_way(runtime, office, ERASED)
    # an erasure made before erasure dropped clear justifications (the old way, again)
    with runtime.sessions.begin() as db:
        review = db.get_one(Review, gone)
        cases.erase(db=db, actor="user:officer", case=db.get_one(Case, review.case_id))
        review.justification = ERASED
    # the control: the test looks where the text is
    if sqlite:
        assert OLD.encode() in files(settings) and ERASED.encode() in files(settings)

    upgraded = hub_in_process(settings, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "1 justifications sealed; 1 of erased cases dropped" in upgraded.stderr

    if sqlite:
        at_rest.assert_absent(files(settings), "the database files", [OLD, ERASED])
    with runtime.sessions() as db:
        review = db.get_one(Review, kept)
        assert review.justification is None and review.justification_ciphertext
        assert reviews.read(db=db, keyring=runtime.keyring, review=review).justification == OLD
        outcome = reviews.latest_outcome(db=db, review_id=kept)
        assert outcome is not None and outcome.justification == OLD
        assert db.get_one(Review, gone).justification is None
    [entry] = audited(runtime)
    assert entry.details == {"sealed": 1, "dropped": 1}
    assert OLD not in str(entry.details) and entry.actor.startswith("cli")

    # once is enough: the step finds nothing the second time, and says so without an entry
    again = one_json(hub_in_process(settings, "reviews", "seal-justifications", "--json"))
    assert again == {"sealed": 0, "dropped": 0}
    assert len(audited(runtime)) == 1
    with runtime.sessions() as db:
        review = db.get_one(Review, kept)
        assert reviews.read(db=db, keyring=runtime.keyring, review=review).justification == OLD
