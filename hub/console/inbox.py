"""The partner's received inbox: referrals sent to the person's organisation, one referral with
what the consent gate released to it, and the recipient's moves (acknowledge, accept, decline,
start, complete), with the referral's history.

Every rule is the referrals services', as the API uses them: who sees a referral
(`service.get`), the inbox's order (`service.inbox`), what the gate releases at each read and
its accounting (`reading.read`, exactly as GET /v1/referrals/{id}), which move is legal and what
it does (`service.party_move`, as POST /v1/referrals/{id}/<move>). This module shows and asks.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession, get_runtime
from hub.api.problems import NotFound, Problem
from hub.clock import utcnow
from hub.console.errors import ConsoleRoute
from hub.console.history import parties, since
from hub.console.labels import LABELS, N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.lifecycle import Party
from hub.referrals import data_life, reading, service
from hub.referrals.data_life import Erasure
from hub.referrals.lifecycle import FINAL, MOVES
from hub.referrals.models import Referral
from hub.referrals.schemas import TEXT_MAX, ReferralSummary, Role
from hub.users import directory as people

router = APIRouter(prefix="/console/received", route_class=ConsoleRoute, include_in_schema=False)

# the inbox is where referrals are answered and worked: the people who do that (case workers)
# open it; reading a referral releases the person's data, so no one else needs to
SCOPE = "referrals:write"
# the recipient's moves, in the order they come; those that need words have a page of their own
RECIPIENT_MOVES = tuple(a for a, m in MOVES.items() if m.party is Party.recipient)
WORDED = {a: MOVES[a].says for a in RECIPIENT_MOVES if MOVES[a].reason_required}
CLOSED_LIMIT = 50
# the two problems a move can meet that a person can act on; anything else is the error page
REFUSALS = ("invalid_transition", "reason_required")
WRITE = {
    "reason": N_("Write the reason: the sender reads it."),
    "outcome": N_("Write the outcome: the sender reads it."),
}
TOO_LONG = N_("This is too long (2,000 characters at most).")
# the coded answer offered beside the words: the policy vocabulary of each worded move
CODES = {a: service.ANSWER_CODES[a][0] for a in WORDED if a in service.ANSWER_CODES}
UNKNOWN_CODE = N_("Choose one of the answers listed.")


def received(
    db: DbSession, person: CurrentPerson, referral_id: str, *, lock: bool = False
) -> Referral:
    """The referral if the person's organisation received it (404 otherwise, also to its
    sender: this is the recipient's side)."""
    organization_id = person.principal.organization_id
    referral = service.get(
        db=db, referral_id=referral_id, organization_id=organization_id, lock=lock
    )
    if service.party_of(referral, organization_id) is not Party.recipient:
        raise NotFound("referral")
    return referral


def erasure_shown(db: Session, state: Erasure | None) -> dict[str, object]:
    """What the recipient's pages say of the erasure of what it received (`data_life`): where
    it stands, who confirmed it last, whether its date has passed without confirmation."""
    if state is None:
        return {"erasure": None}
    return {
        "erasure": state,
        "erasure_by": people.describe(db=db, actor=state.confirmed_by)
        if state.confirmed_by
        else None,
        "erasure_late": bool(state.waiting and state.erase_by and state.erase_by < utcnow()),
    }


def _summary(referral: Referral) -> ReferralSummary:
    return service.summary(referral, Party.recipient)


@router.get("")
def inbox(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    person.require(SCOPE)
    organization_id = person.principal.organization_id
    closed = request.query_params.get("show") == "closed"
    if closed:
        items, _ = service.get_page(
            db=db,
            organization_id=organization_id,
            role=Role.received,
            statuses=sorted(FINAL),
            overdue=None,
            cursor=None,
            limit=CLOSED_LIMIT,
        )
    else:
        items = service.inbox(db=db, organization_id=organization_id)
    return page(
        request,
        person,
        "received.html",
        db=db,
        items=items,
        closed=closed,
        names=organization_names(db, [i.from_organization_id for i in items]),
        erase_by=data_life.erase_by_dates(
            db, referral_ids=[i.id for i in items], organization_id=organization_id
        ),
        now=utcnow(),
    )


@router.get("/{referral_id}")
def referral_page(
    referral_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """The referral with what the gate releases now: asked, and accounted for, at each view."""
    person.require(SCOPE)
    referral = received(db, person, referral_id)
    read = reading.read(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        referral=referral,
        organization_id=person.principal.organization_id,
        actor=person.actor,
        with_payload=True,
    )
    # its history as GET /v1/referrals/{id}/events gives it to the recipient: the sender's words
    # only while the gate permits the referral now, and accounted for when released
    events = reading.events(
        db=db,
        keyring=runtime.keyring,
        policy=runtime.policy,
        referral=referral,
        organization_id=person.principal.organization_id,
        actor=person.actor,
    )
    # the sections in the policy's order of categories (identity first), not the snapshot's
    order = list(LABELS["data_categories"])
    released = dict(
        sorted(
            (read.payload or {}).items(),
            key=lambda item: order.index(item[0]) if item[0] in order else len(order),
        )
    )
    return page(
        request,
        person,
        "received_referral.html",
        db=db,
        referral=read,
        released=released,
        # sent to the recipient but not released at this read (names only, never values)
        withheld=[c for c in read.categories if c not in released],
        names=organization_names(db, parties(events, read.from_organization_id)),
        worded=WORDED,
        events=events,
        since=since(person.language),
        # the data life of what it received (this read included), and the erasure's button
        **erasure_shown(
            db,
            data_life.erasure_of(
                db, referral_id=referral.id, organization_id=person.principal.organization_id
            ),
        ),
    )


def _words_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    referral: Referral,
    action: str,
    *,
    text: str = "",
    code: str = "",
    error: str | None = None,
    error_field: str | None = None,
    status_code: int = 200,
) -> Response:
    summary = _summary(referral)
    vocabulary = CODES.get(action)
    policy = get_runtime(request).policy
    codes = list(getattr(policy.vocabularies, vocabulary)) if vocabulary else []
    if action not in summary.allowed_actions:
        return _refused(request, person, db, summary, action)
    return page(
        request,
        person,
        "received_words.html",
        db=db,
        status_code=status_code,
        referral=summary,
        action=action,
        field=WORDED[action],
        text=text,
        text_max=TEXT_MAX,
        code_field=f"{WORDED[action]}_code",
        code_vocabulary=vocabulary,
        codes=codes,
        code=code,
        errors=[(error_field or WORDED[action], error)] if error else [],
    )


def _refused(
    request: Request, person: CurrentPerson, db: DbSession, summary: ReferralSummary, action: str
) -> Response:
    """A move the referral's status does not allow (any more): said plainly, with its status."""
    return page(
        request,
        person,
        "received_refused.html",
        db=db,
        status_code=409,
        referral=summary,
        action=action,
    )


@router.get("/{referral_id}/{action}")
def words(
    referral_id: str, action: str, request: Request, person: CurrentPerson, db: DbSession
) -> Response:
    """The page of a move that needs words: decline (its reason), complete (its outcome)."""
    person.require(SCOPE)
    if action == "done":
        return _done(request, person, db, referral_id)
    if action not in WORDED:
        raise NotFound()
    return _words_page(request, person, db, received(db, person, referral_id), action)


@router.post("/{referral_id}/{action}")
def move(
    referral_id: str,
    action: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    if action not in RECIPIENT_MOVES:
        raise NotFound()
    referral = received(db, person, referral_id, lock=True)
    text = None
    code = None
    if action in WORDED:
        text = text_field(form, WORDED[action], max_length=TEXT_MAX + 1)
        code_field = f"{WORDED[action]}_code"
        code = text_field(form, code_field, max_length=64) if action in CODES else ""
        error, error_field = None, None
        if code and code not in getattr(runtime.policy.vocabularies, CODES[action]):
            error, error_field = UNKNOWN_CODE, code_field
        elif not text and not code:
            error = WRITE[WORDED[action]]
        elif len(text) > TEXT_MAX:
            error = TOO_LONG
        if error:
            return _words_page(
                request,
                person,
                db,
                referral,
                action,
                text=text,
                code=code,
                error=person.gettext(error),
                error_field=error_field,
                status_code=400,
            )
    try:
        service.party_move(
            db=db,
            keyring=runtime.keyring,
            referral=referral,
            action=action,
            actor=person.actor,
            organization_id=person.principal.organization_id,
            text=text,
            code=code or None,
            policy=runtime.policy,
        )
    except Problem as problem:
        if problem.code not in REFUSALS:
            raise
        # nothing was written: the lifecycle table refuses before any change
        return _refused(request, person, db, _summary(referral), action)
    # post, redirect, get: reloading the confirmation does not move the referral again
    return RedirectResponse(f"/console/received/{referral.id}/done?move={action}", status_code=303)


def _done(request: Request, person: CurrentPerson, db: DbSession, referral_id: str) -> Response:
    chosen = request.query_params.get("move")
    summary = _summary(received(db, person, referral_id))
    # the page confirms a move only if the referral is where that move leads
    made = chosen in RECIPIENT_MOVES and MOVES[str(chosen)].target == summary.status
    return page(
        request,
        person,
        "received_done.html",
        db=db,
        referral=summary,
        action=chosen if made else None,
    )
