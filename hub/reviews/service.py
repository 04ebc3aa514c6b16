"""Reviews: requests the consent gate held for a consent officer, and their decisions.

A review is opened (`hub.reviews.opening.open_review`) by the flow that asked the gate (a
referral or a transfer) when the gate answered `review`. Consent officers of the requesting
organisation or of an office above it in the IOM hierarchy decide it, once, with a
justification: approve, deny, or return (send it back to the requester for correction; the
requester resubmits or cancels). Every decision is a consent officer's, a person's act
(`check_decider`): never a bare machine client. Whoever asked for it or made the request
cannot decide it (four eyes, by person: `may_decide`). The decision is audited and
an outbox message `review.decided` tells the requesting flow to send (approved), to mark the
request denied (denied: it never leaves) or returned (returned: nothing is sent). A request
that leaves review another way closes its review undecided (`withdrawn`, no message:
`hub.reviews.closing`).

Every function takes the session and, where it acts, the actor: the API and the web console
call the same ones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from hub.api import pagination
from hub.api.problems import Conflict, NotFound, Problem, Unprocessable
from hub.audit.service import record
from hub.auth.tokens import person_of
from hub.cases import service as cases
from hub.clock import utcnow
from hub.consent.models import GateDecision
from hub.crypto import service as data_keys
from hub.crypto.envelope import decrypt, encrypt
from hub.crypto.keyring import KeyEncryptionKeys
from hub.legal_bases import invocation
from hub.organizations.models import Organization
from hub.outbox.service import enqueue
from hub.policy.legal_bases import CONSENT
from hub.reviews.models import Review
from hub.reviews.opening import REVIEWS, open_note
from hub.reviews.schemas import (
    ApprovalRead,
    ReturnedRead,
    ReviewKind,
    ReviewOutcome,
    ReviewRead,
    ReviewStatus,
)
from hub.users.models import User
from hub.users.roles import Role

DECIDED_TOPIC = "review.decided"
# deeper than any real office structure; stops the walk should the data ever hold a cycle
MAX_DEPTH = 16
# the queue's order by urgency; anything else comes after these
URGENCY_RANK = {"emergency": 0, "high": 1, "normal": 2}
QUEUE_LIMIT = 50
JUSTIFICATION_FIELD = "justification"
FIRST_JUSTIFICATION_FIELD = "first_justification"


class FourEyes(Problem):
    def __init__(self) -> None:
        super().__init__(
            403,
            "four_eyes",
            "The requester cannot decide their own request",
            "Another consent officer has to decide it.",
        )


class PersonRequired(Problem):
    def __init__(self) -> None:
        super().__init__(
            403,
            "person_required",
            "Deciding a review is a person's act",
            "Decide it in the console, or send On-Behalf-Of: <user id> with the client's token.",
        )


class NotAConsentOfficer(Problem):
    def __init__(self) -> None:
        super().__init__(
            403,
            "not_a_consent_officer",
            "Only a consent officer decides a review",
            "The person this request is made for is not an enabled consent officer.",
        )


class SecondOfficerRequired(Problem):
    def __init__(self) -> None:
        super().__init__(
            403,
            "second_officer_required",
            "Another consent officer has to approve it",
            "A request on a legal basis needs the approval of two different consent officers.",
        )


class ReviewDecided(Conflict):
    def __init__(self, status: str) -> None:
        # `status` is the problem document's HTTP status: the review's goes under its own name
        super().__init__(
            "review_decided", "The review has already been decided", review_status=status
        )


def offices_at_or_below(organization_id: str) -> Select[Any]:
    """The organisation and every office below it in the IOM hierarchy (ids, as SQL)."""
    tree = (
        select(Organization.id.label("id"), literal(0).label("depth"))
        .where(Organization.id == organization_id)
        .cte("review_scope", recursive=True)
    )
    child = aliased(Organization)
    tree = tree.union_all(
        select(child.id, tree.c.depth + 1).where(
            child.parent_id == tree.c.id, tree.c.depth < MAX_DEPTH
        )
    )
    return select(tree.c.id)


def visible_to(organization_id: str) -> ColumnElement[bool]:
    """THE access rule for reviews, for single reads and lists alike: requests of the caller's
    organisation and of the offices below it."""
    return Review.requesting_organization_id.in_(offices_at_or_below(organization_id))


def waiting_for(organization_id: str) -> ColumnElement[bool]:
    """The organisation's queue: its own pending reviews and those escalated to it (within
    what it may see)."""
    return and_(
        visible_to(organization_id),
        Review.status == ReviewStatus.pending.value,
        or_(
            Review.requesting_organization_id == organization_id,
            Review.escalated_to_organization_id == organization_id,
        ),
    )


def get(*, db: Session, review_id: str, organization_id: str) -> Review:
    """The review if the caller's organisation may see it; otherwise 404."""
    review = db.scalar(select(Review).where(Review.id == review_id, visible_to(organization_id)))
    if review is None:
        raise NotFound("review")
    return review


# --- reading ---------------------------------------------------------------------------------

Row = tuple[Review, GateDecision, str | None]


def _rows(db: Session, query: Select[Any]) -> list[Row]:
    return [(r, d, kind) for r, d, kind in db.execute(query).all()]


def seal_justification(key: bytes, review: Review, justification: str) -> None:
    """Seal the officer's justification with the case's data key (erasing the case erases it)."""
    review.justification_ciphertext = encrypt(
        key, justification.encode("utf-8"), table=REVIEWS, row=review.id, field=JUSTIFICATION_FIELD
    )
    review.justification = None


def open_justification(key: bytes | None, review: Review) -> str | None:
    """The justification while the case's key lives (None once it is erased, or none given)."""
    if review.justification_ciphertext is None:
        return review.justification  # written before justifications were sealed
    if key is None:
        return None
    sealed = review.justification_ciphertext
    plain = decrypt(key, sealed, table=REVIEWS, row=review.id, field=JUSTIFICATION_FIELD)
    return plain.decode("utf-8")


def _case_key(db: Session, review: Review) -> bytes | None:
    return cases.live_key(db=db, keyring=data_keys.bound_keyring(db), case_id=review.case_id)


def _select() -> Select[Any]:
    return (
        select(Review, GateDecision, Organization.kind)
        .join(GateDecision, GateDecision.id == Review.decision_id)
        .outerjoin(Organization, Organization.id == GateDecision.recipient_organization_id)
    )


def _returned_before(db: Session, reviews: list[Review]) -> dict[str, ReturnedRead]:
    """For each review, the latest earlier review of the same request that sent it back."""
    if not reviews:
        return {}
    earlier = db.scalars(
        select(Review)
        .where(
            Review.object_id.in_({r.object_id for r in reviews}),
            Review.status == ReviewStatus.returned.value,
        )
        .order_by(Review.created_at, Review.id)
    ).all()
    found: dict[str, ReturnedRead] = {}
    for review in reviews:
        for back in earlier:
            same = (back.kind, back.object_id) == (review.kind, review.object_id)
            if same and back.id != review.id and back.created_at <= review.created_at:
                found[review.id] = ReturnedRead(
                    review_id=back.id,
                    justification=open_justification(_case_key(db, back), back),
                    decided_by=back.decided_by,
                    decided_at=back.decided_at,
                )
    return found


def _first_approval(key: bytes | None, review: Review) -> ApprovalRead | None:
    if review.first_approved_by is None or review.first_approved_at is None:
        return None
    justification = None
    if key is not None and review.first_justification_ciphertext is not None:
        justification = decrypt(
            key,
            review.first_justification_ciphertext,
            table=REVIEWS,
            row=review.id,
            field=FIRST_JUSTIFICATION_FIELD,
        ).decode("utf-8")
    return ApprovalRead(
        approved_by=review.first_approved_by,
        approved_at=review.first_approved_at,
        justification=justification,
    )


def _reads(db: Session, keyring: KeyEncryptionKeys, rows: list[Row]) -> list[ReviewRead]:
    now = utcnow()
    returned = _returned_before(db, [row[0] for row in rows])
    keys: dict[str, bytes | None] = {}
    out = []
    for review, decision, recipient_kind in rows:
        note = None
        if (
            review.legal_basis != CONSENT
            or review.note_ciphertext is not None
            or (review.justification_ciphertext is not None)
        ):
            if review.case_id not in keys:
                keys[review.case_id] = cases.live_key(
                    db=db, keyring=keyring, case_id=review.case_id
                )
            note = open_note(keys[review.case_id], review)
        pending = review.status == ReviewStatus.pending
        out.append(
            ReviewRead(
                id=review.id,
                kind=ReviewKind(review.kind),
                object_id=review.object_id,
                case_id=review.case_id,
                requesting_organization_id=review.requesting_organization_id,
                recipient_organization_id=decision.recipient_organization_id,
                recipient_kind=recipient_kind,
                purpose=decision.purpose,
                urgency=review.urgency,
                age_band=review.age_band,
                note=note,
                categories=list(decision.permitted_categories),
                withheld_categories=[
                    c
                    for c in decision.requested_categories
                    if c not in decision.permitted_categories
                ],
                consent_ids=list(decision.consent_ids),
                reasons=list(review.reasons),
                status=ReviewStatus(review.status),
                requested_by=review.requested_by,
                created_at=review.created_at,
                due_at=review.due_at,
                overdue=pending and review.due_at is not None and review.due_at < now,
                escalated=review.escalated_at is not None,
                escalated_at=review.escalated_at,
                escalated_to_organization_id=review.escalated_to_organization_id,
                decided_by=review.decided_by,
                decided_at=review.decided_at,
                justification=open_justification(keys.get(review.case_id), review),
                returned=returned.get(review.id),
                legal_basis=review.legal_basis,
                basis_justification=invocation.unseal(
                    keys.get(review.case_id),
                    review.basis_justification_ciphertext,
                    table=REVIEWS,
                    row=review.id,
                ),
                officers_required=review.officers_required,
                first_approval=_first_approval(keys.get(review.case_id), review),
            )
        )
    return out


def read(*, db: Session, keyring: KeyEncryptionKeys, review: Review) -> ReviewRead:
    """The review as an officer sees it (resolve it with `get` first)."""
    return _reads(db, keyring, _rows(db, _select().where(Review.id == review.id)))[0]


def get_page(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    organization_id: str,
    status: ReviewStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ReviewRead], str | None]:
    """Reviews the caller may decide, newest first; the access rule is part of the query."""
    query = _select().where(visible_to(organization_id))
    if status is not None:
        query = query.where(Review.status == status.value)
    query = pagination.page(
        query, time_column=Review.created_at, id_column=Review.id, cursor=cursor, limit=limit
    )
    rows = _rows(db, query)
    cursor_next = pagination.next_cursor([row[0] for row in rows], limit, time_attr="created_at")
    return _reads(db, keyring, rows[:limit]), cursor_next


def priority_order() -> tuple[ColumnElement[Any], ...]:
    """Emergency, high, normal; within each, escalated ones first; then the oldest first."""
    rank = case(URGENCY_RANK, value=Review.urgency, else_=len(URGENCY_RANK))
    escalated = case((Review.escalated_at.is_not(None), 0), else_=1)
    return rank, escalated, Review.created_at, Review.id


def queue(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    organization_id: str,
    limit: int = QUEUE_LIMIT,
    include_below: bool = False,
) -> list[ReviewRead]:
    """Pending reviews for the organisation's officers, most urgent first (`priority_order`):
    its own and those escalated to it; with `include_below`, every pending review of the
    offices below it as well."""
    scope = (
        and_(visible_to(organization_id), Review.status == ReviewStatus.pending.value)
        if include_below
        else waiting_for(organization_id)
    )
    query = _select().where(scope).order_by(*priority_order()).limit(limit)
    return _reads(db, keyring, _rows(db, query))


def count_waiting(*, db: Session, organization_id: str) -> int:
    """How many reviews wait in the organisation's queue (`queue` without `include_below`)."""
    return (
        db.scalar(select(func.count()).select_from(Review).where(waiting_for(organization_id))) or 0
    )


def latest_outcome(*, db: Session, review_id: str | None) -> ReviewOutcome | None:
    """The requester's view of a referral's or transfer's latest review (for its sender only:
    the officer's justification is the sender's to read, never the recipient's)."""
    if review_id is None:
        return None
    review = db.get(Review, review_id)
    if review is None:
        return None
    return ReviewOutcome(
        status=ReviewStatus(review.status),
        justification=open_justification(_case_key(db, review), review),
        decided_at=review.decided_at,
    )


def _first_approval_recorded(db: Session, review: Review, actor: str, justification: str) -> Review:
    """The first of two officers approved: the review stays pending for the second, and
    nothing leaves yet. Audited; the justification sealed like the decision's."""
    review.first_approved_by = actor
    review.first_approved_at = utcnow()
    key = _case_key(db, review)
    if key is not None:
        review.first_justification_ciphertext = encrypt(
            key,
            justification.encode("utf-8"),
            table=REVIEWS,
            row=review.id,
            field=FIRST_JUSTIFICATION_FIELD,
        )
    record(
        db,
        actor=actor,
        action="review.first_approval",
        object_type="review",
        object_id=review.id,
        details={
            "kind": review.kind,
            "object_id": review.object_id,
            "case_id": review.case_id,
            "decision_id": review.decision_id,
            "legal_basis": review.legal_basis,
            "requesting_organization_id": review.requesting_organization_id,
        },
    )
    return review


# --- deciding --------------------------------------------------------------------------------


def _same(actor: str, other: str | None) -> bool:
    if other is None:
        return False
    if actor == other:
        return True
    person = person_of(actor)
    return person is not None and person == person_of(other)


def may_decide(review: Review, actor: str) -> bool:
    """Four eyes, THE rule: not whoever asked for it or made it, by actor, nor the same person
    through another way in (the console, or a client acting for them)."""
    return not (_same(actor, review.requested_by) or _same(actor, review.made_by))


def awaits_second_approval(review: Review) -> bool:
    """A request on a legal basis with one approval so far."""
    return review.officers_required > 1 and review.first_approved_by is None


def first_approver(review: Review, actor: str) -> bool:
    """Whether `actor` gave the first of the two approvals a legal basis needs."""
    return review.officers_required > 1 and _same(actor, review.first_approved_by)


def check_approver(review: Review, actor: str) -> None:
    """The second approval of a request on a legal basis is another officer's (403
    `second_officer_required`); the console asks it before its check page, `decide` always."""
    if first_approver(review, actor):
        raise SecondOfficerRequired()


def check_decider(*, db: Session, actor: str) -> User:
    """THE rule for who decides: a person (the console's user, or a client acting for one with
    `On-Behalf-Of`), never a client on its own (403 `person_required`); and that person an
    enabled consent officer (403 `not_a_consent_officer`: a case worker acting through a
    client cannot decide). The same for approving, denying and returning."""
    person = person_of(actor)
    if person is None:
        raise PersonRequired()
    user = db.get(User, person)
    if user is None or user.disabled_at is not None or user.role != Role.consent_officer:
        raise NotAConsentOfficer()
    return user


def decide(
    *,
    db: Session,
    review: Review,
    actor: str,
    outcome: ReviewStatus | str,
    justification: str,
) -> Review:
    """Approve, deny or return a pending review, once, by a consent officer who is a person
    (`check_decider`: 403 `person_required` or `not_a_consent_officer`, asked before anything
    else) other than its requester and maker (`may_decide`: 403 `four_eyes`); 409
    `review_decided` once decided (or closed); 422 `justification_required` without a
    justification.

    Resolve the review with `get` first (that is the access check).
    """
    status = ReviewStatus(outcome)
    if status in (ReviewStatus.pending, ReviewStatus.withdrawn):
        raise ValueError("a decision approves, denies or returns")
    check_decider(db=db, actor=actor)
    # locked, and read afresh: of two officers deciding at once, the second sees the first's
    db.refresh(review, with_for_update=True)
    if review.status != ReviewStatus.pending:
        raise ReviewDecided(review.status)
    if not may_decide(review, actor):
        raise FourEyes()
    justification = (justification or "").strip()
    if not justification:
        raise Unprocessable("justification_required", "A justification is required")
    if status is ReviewStatus.approved:
        check_approver(review, actor)
        if awaits_second_approval(review):
            return _first_approval_recorded(db, review, actor, justification)
    review.status = status.value
    review.decided_by = actor
    review.decided_at = utcnow()
    # free text that may name the person: sealed with the case's key (a case erased meanwhile
    # leaves nothing to seal it with, nor anyone to name), and out of the audit log
    key = _case_key(db, review)
    if key is not None:
        seal_justification(key, review, justification)
    record(
        db,
        actor=actor,
        action=f"review.{status.value}",
        object_type="review",
        object_id=review.id,
        details={
            "kind": review.kind,
            "object_id": review.object_id,
            "case_id": review.case_id,
            "decision_id": review.decision_id,
            "requesting_organization_id": review.requesting_organization_id,
            "legal_basis": review.legal_basis,
            "first_approved_by": review.first_approved_by,
        },
    )
    enqueue(
        db=db,
        topic=DECIDED_TOPIC,
        payload={
            "review_id": review.id,
            "kind": review.kind,
            "object_id": review.object_id,
            "outcome": status.value,
        },
    )
    return review
