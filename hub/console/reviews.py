"""The consent officer's workspace: the queue of held requests, a request with what it rests
on, and the decision (approve, deny, send back), checked before it is made.

Every rule is the reviews service's: who may see a review (`service.get`), four eyes and the
justification (`service.decide`); this module only shows and asks.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound
from hub.cases import service as cases
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.reviews import dossier
from hub.reviews import service as reviews
from hub.reviews.schemas import ReviewRead, ReviewStatus
from hub.users import directory as people

router = APIRouter(prefix="/console/reviews", route_class=ConsoleRoute, include_in_schema=False)

OUTCOMES = (ReviewStatus.approved, ReviewStatus.returned, ReviewStatus.denied)
SCOPE = "reviews:decide"
JUSTIFICATION_MAX = 2000
CHOOSE = N_("Choose a decision.")
JUSTIFY = N_("Write a justification: it reaches the requester.")
TOO_LONG = N_("The justification is too long (2,000 characters at most).")
SECOND_OFFICER = N_(
    "You have already approved this request. A request on a legal basis needs the approval of "
    "a second, different consent officer."
)


@router.get("")
def queue(
    request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    person.require(SCOPE)
    # the office's own queue (and what was escalated to it), or with the offices below it too
    below = request.query_params.get("offices") == "below"
    items = reviews.queue(
        db=db,
        keyring=runtime.keyring,
        organization_id=person.principal.organization_id,
        include_below=below,
    )
    return page(
        request,
        person,
        "reviews.html",
        db=db,
        items=items,
        below=below,
        names=_names(db, items),
        references={r.id: cases.reference(db=db, case_id=r.case_id) for r in items},
    )


def _names(db: DbSession, items: list[ReviewRead]) -> dict[str, str]:
    return organization_names(
        db,
        [i.recipient_organization_id for i in items]
        + [i.requesting_organization_id for i in items],
    )


def _review_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
    review_id: str,
    *,
    errors: list[tuple[str, str]] | None = None,
    chosen: str | None = None,
    justification: str = "",
    status_code: int = 200,
) -> Response:
    row = reviews.get(db=db, review_id=review_id, organization_id=person.principal.organization_id)
    review = reviews.read(db=db, keyring=runtime.keyring, review=row)
    return page(
        request,
        person,
        "review.html",
        db=db,
        status_code=status_code,
        review=review,
        names=_names(db, [review]),
        reference=cases.reference(db=db, case_id=review.case_id),
        consents=dossier.relied_on(db=db, keyring=runtime.keyring, review=review),
        agreements=dossier.agreements(db=db, review=review),
        requester=people.describe(db=db, actor=review.requested_by),
        may_decide=reviews.may_decide(row, person.actor),
        # a legal basis: the first of its two approvals, and whether it was this officer's
        first_officer=(
            people.describe(db=db, actor=review.first_approval.approved_by)
            if review.first_approval
            else None
        ),
        approved_first=reviews.first_approver(row, person.actor),
        outcomes=OUTCOMES,
        errors=errors or [],
        chosen=chosen,
        justification=justification,
        justification_max=JUSTIFICATION_MAX,
    )


@router.get("/{review_id}")
def review(
    review_id: str, request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    person.require(SCOPE)
    return _review_page(request, person, db, runtime, review_id)


@router.post("/{review_id}/decision")
def decision(
    review_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """First post: check the answers (nothing is decided); second, with `confirm`: decide."""
    person.require(SCOPE)
    outcome = text_field(form, "outcome", max_length=16)
    justification = text_field(form, "justification", max_length=JUSTIFICATION_MAX + 1)
    errors: list[tuple[str, str]] = []
    if outcome not in {o.value for o in OUTCOMES}:
        errors.append(("outcome-approved", person.gettext(CHOOSE)))
    if not justification:
        errors.append(("justification", person.gettext(JUSTIFY)))
    elif len(justification) > JUSTIFICATION_MAX:
        errors.append(("justification", person.gettext(TOO_LONG)))
    if errors:
        return _review_page(
            request,
            person,
            db,
            runtime,
            review_id,
            errors=errors,
            chosen=outcome or None,
            justification=justification,
            status_code=400,
        )
    row = reviews.get(db=db, review_id=review_id, organization_id=person.principal.organization_id)
    # refused before the check page rather than after it: the service's own rules
    if row.status != ReviewStatus.pending:
        raise reviews.ReviewDecided(row.status)
    if not reviews.may_decide(row, person.actor):
        raise reviews.FourEyes()
    try:
        if outcome == ReviewStatus.approved:
            reviews.check_approver(row, person.actor)
        if form.get("confirm") == "1":
            reviews.decide(
                db=db, review=row, actor=person.actor, outcome=outcome, justification=justification
            )
    except reviews.SecondOfficerRequired:
        errors = [("outcome-approved", person.gettext(SECOND_OFFICER))]
        return _review_page(request, person, db, runtime, review_id, errors=errors, status_code=403)
    if form.get("confirm") != "1":
        review = reviews.read(db=db, keyring=runtime.keyring, review=row)
        return page(
            request,
            person,
            "review_check.html",
            db=db,
            review=review,
            reference=cases.reference(db=db, case_id=review.case_id),
            names=_names(db, [review]),
            outcome=outcome,
            justification=justification,
        )
    review = reviews.read(db=db, keyring=runtime.keyring, review=row)
    return page(
        request,
        person,
        "review_decided.html",
        db=db,
        review=review,
        reference=cases.reference(db=db, case_id=review.case_id),
    )


@router.get("/{review_id}/consents/{consent_id}/evidence")
def evidence_page(
    review_id: str,
    consent_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """The scanned form shown inline, framed by a page that says what it is."""
    person.require(SCOPE)
    row = reviews.get(db=db, review_id=review_id, organization_id=person.principal.organization_id)
    review = reviews.read(db=db, keyring=runtime.keyring, review=row)
    shown = dossier.relied_on(db=db, keyring=runtime.keyring, review=review)
    consent = next((c for c in shown if c.id == consent_id and c.evidence), None)
    if consent is None:
        raise NotFound("evidence")
    return page(
        request,
        person,
        "evidence.html",
        db=db,
        review=review,
        consent=consent,
        reference=cases.reference(db=db, case_id=review.case_id),
        src=f"/console/reviews/{review.id}/consents/{consent.id}/evidence/file",
    )


@router.get("/{review_id}/consents/{consent_id}/evidence/file")
def evidence_file(
    review_id: str,
    consent_id: str,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """The file itself, for the frame of `evidence_page`; each read is in the audit log."""
    person.require(SCOPE)
    row = reviews.get(db=db, review_id=review_id, organization_id=person.principal.organization_id)
    stored, content = dossier.evidence_of(
        db=db, keyring=runtime.keyring, actor=person.actor, review=row, consent_id=consent_id
    )
    return Response(
        content,
        media_type=stored.content_type,
        headers={
            "Content-Disposition": "inline",
            "X-Hub-Frameable": "1",
        },
    )
