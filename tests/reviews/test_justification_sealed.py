"""A review's justification is sealed with the case's data key: not in clear in the row, shown
while the case lives, gone with it."""

from sqlalchemy import select

from hub.cases import service as cases
from hub.cases.models import Case
from hub.reviews import service as reviews
from hub.reviews.models import Review
from hub.runtime import Runtime
from tests.support import factories
from tests.support.reviews import held_request, officer_actor

WHY = "Canary: Belisandre Quorrit's lawyer asked for the identity"


def test_the_justification_is_sealed_and_goes_with_the_case(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        office = factories.org(db, runtime.policy, "IOM Agadez", kind="iom_office").id
    review_id = held_request(runtime, office)
    officer = officer_actor(runtime, office)
    with runtime.sessions.begin() as db:
        review = db.get_one(Review, review_id)
        reviews.decide(
            db=db,
            review=review,
            actor=officer,
            outcome="denied",
            justification=WHY,
        )
    with runtime.sessions.begin() as db:
        review = db.get_one(Review, review_id)
        assert review.justification is None and review.justification_ciphertext
        assert WHY.encode() not in review.justification_ciphertext
        assert reviews.read(db=db, keyring=runtime.keyring, review=review).justification == WHY
        outcome = reviews.latest_outcome(db=db, review_id=review_id)
        assert outcome is not None and outcome.justification == WHY
        cases.erase(db=db, actor="user:officer", case=db.get_one(Case, review.case_id))
    with runtime.sessions.begin() as db:
        review = db.scalars(select(Review).where(Review.id == review_id)).one()
        assert reviews.read(db=db, keyring=runtime.keyring, review=review).justification is None
        outcome = reviews.latest_outcome(db=db, review_id=review_id)
        assert outcome is not None and outcome.justification is None
