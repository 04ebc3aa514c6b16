"""The case worker's "Refer" flow: find the case by its reference, choose the service, then a
recipient offering it and the data to share, check what the consent gate would do (the dry
run), then send — one question per page, and a confirmation.

Every rule is the referrals service's: the dry run and the send are `dry_run.dry_run` and
`sending.create`, the same functions `POST /v1/referrals` calls, so the check page shows the
gate's own decision, and the send gets the same answer. This module only shows and asks. The
purpose of a referral made here is its service type (the policy names services after the
purposes they serve).

Addresses carry ids and codes only (a case by its id, a service type's code): no name.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from hub.api import vocabulary
from hub.api.deps import CurrentRuntime, DbSession
from hub.api.idempotency import Idempotency
from hub.api.problems import NotFound, Problem
from hub.cases import service as cases
from hub.cases.models import Case
from hub.console import i18n, refer_basis
from hub.console import refer_service as directory_choice
from hub.console.errors import ConsoleRoute
from hub.console.history import reasons_with
from hub.console.labels import N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.console.refer_choice import Choice, choice_errors, offering
from hub.console.refer_service import error_for
from hub.policy.rules import Effect, Reason
from hub.referrals import dry_run, sending
from hub.referrals import service as referrals
from hub.referrals.schemas import NOTE_MAX, ReferralDryRun

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "referrals:write"
REFERENCE_MAX = 100
ENTER_REFERENCE = N_("Enter the case's reference.")
NO_SUCH_CASE = N_("No case of your office has this reference. Check it and try again.")
CHOOSE_SERVICE = N_("Choose a service.")
CHOOSE_URGENCY = N_("Choose the urgency.")
NOTE_TOO_LONG = N_("The note is too long (4,000 characters at most).")
# why a category the gate withholds is withheld, in plain words
WITHHELD_BY_AGREEMENT = N_("The data sharing agreement with this recipient does not cover it")
WITHHELD_BY_CONSENT = N_("The person's consent does not cover it for this recipient and purpose")


def _case(db: DbSession, person: CurrentPerson, case_id: str) -> Case:
    # the office's own case, or 404 (the tenant condition is the cases service's)
    return cases.get(db=db, case_id=case_id, organization_id=person.principal.organization_id)


# -- finding the case ------------------------------------------------------------------------
@router.get("/console/refer")
def find(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    """A small search by reference: the case's own page does not exist yet."""
    person.require(SCOPE)
    asked = "reference" in request.query_params
    reference = request.query_params.get("reference", "").strip()[:REFERENCE_MAX]
    errors: list[tuple[str, str]] = []
    if asked and not reference:
        errors.append(("reference", person.gettext(ENTER_REFERENCE)))
    elif reference:
        case = cases.find_by_reference(
            db=db, organization_id=person.principal.organization_id, reference=reference
        )
        if case is not None:
            return RedirectResponse(f"/console/cases/{case.id}/refer", status_code=303)
        errors.append(("reference", person.gettext(NO_SUCH_CASE)))
    return page(
        request,
        person,
        "refer_find.html",
        db=db,
        status_code=400 if errors else 200,
        errors=errors,
        reference=reference,
    )


# -- 1. the service ----------------------------------------------------------------------------
def _service_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
    case: Case,
    *,
    chosen: str = "",
    errors: list[tuple[str, str]] | None = None,
) -> Response:
    return page(
        request,
        person,
        "refer_service.html",
        db=db,
        status_code=400 if errors else 200,
        case_id=case.id,
        reference=case.external_ref,
        service_types=runtime.policy.vocabularies.service_types,
        chosen=chosen,
        errors=errors or [],
        error_for=error_for(errors),
    )


@router.get("/console/cases/{case_id}/refer")
def choose_service(
    case_id: str, request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    person.require(SCOPE)
    case = _case(db, person, case_id)
    chosen = request.query_params.get("service_type", "")
    return _service_page(request, person, db, runtime, case, chosen=chosen)


# -- 2. the recipient and the data ---------------------------------------------------------------
def _recipient_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
    case: Case,
    service_type: str,
    *,
    chosen: str = "",
    chosen_service: str = "",
    categories: list[str] | None = None,
    errors: list[tuple[str, str]] | None = None,
) -> Response:
    held = cases.categories(db=db, case=case)
    return page(
        request,
        person,
        "refer_recipient.html",
        db=db,
        status_code=400 if errors else 200,
        case_id=case.id,
        reference=case.external_ref,
        service_type=service_type,
        recipients=offering(db, person, service_type),
        services=directory_choice.services(db, runtime, person, service_type),
        chosen=chosen,
        chosen_service=chosen_service,
        held=held,
        # all the case holds, until the case worker narrows it (the gate strips the rest)
        categories=held if categories is None else categories,
        errors=errors or [],
        error_for=error_for(errors),
    )


@router.get("/console/cases/{case_id}/refer/recipient")
def choose_recipient(
    case_id: str, request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    """Step 1's form comes here (a GET: choosing changes nothing)."""
    person.require(SCOPE)
    case = _case(db, person, case_id)
    service_type = request.query_params.get("service_type", "")
    if service_type not in runtime.policy.vocabularies.service_types:
        errors = [("service-" + _first(runtime), person.gettext(CHOOSE_SERVICE))]
        return _service_page(request, person, db, runtime, case, errors=errors)
    return _recipient_page(request, person, db, runtime, case, service_type)


def _first(runtime: CurrentRuntime) -> str:
    return runtime.policy.vocabularies.service_types[0]


# -- 3. check before sending -----------------------------------------------------------------
def _check_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
    case: Case,
    choice: Choice,
    *,
    errors: list[tuple[str, str]] | None = None,
    status_code: int = 200,
    refused: bool = False,
) -> Response:
    try:
        answer = dry_run.dry_run(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor=person.actor,
            organization_id=person.principal.organization_id,
            data=choice.request(case, dry_run=True),
        )
    except Problem as problem:
        if refer_basis.refused(problem, choice):
            return refer_basis.basis_page(
                request, person, db, runtime, case, choice, problem=problem
            )
        if problem.code not in directory_choice.SERVICE_REFUSALS:
            raise
        return directory_choice.override_page(request, person, db, case, choice, problem)
    return page(
        request,
        person,
        "refer_check.html",
        db=db,
        status_code=400 if errors else status_code,
        case_id=case.id,
        reference=case.external_ref,
        choice=choice,
        recipient_name=organization_names(db, [choice.recipient])[choice.recipient],
        service=directory_choice.chosen_service(db, choice),
        answer=answer,
        held_for=_reasons(runtime, answer, Effect.review),
        refused_for=_reasons(runtime, answer, Effect.deny),
        why_withheld={
            c: person.gettext(why) for c, why in _why_withheld(answer, choice.legal_basis).items()
        },
        urgencies=vocabulary.urgencies(runtime.policy),
        # hours to acknowledge, by urgency (the policy's windows)
        hours={
            u: int(runtime.policy.acknowledgement.window(u).deadline.total_seconds() // 3600)
            for u in vocabulary.urgencies(runtime.policy)
        },
        errors=errors or [],
        error_for=error_for(errors),
        note_max=NOTE_MAX,
        refused=refused,
        # a fresh key per check: sending the form twice (a double click, a resent form) makes
        # one referral
        send_key=secrets.token_urlsafe(24),
        bases=refer_basis.bases_for(runtime.policy, person.user.role),
        basis_categories=refer_basis.categories_of(runtime.policy, choice.legal_basis),
    )


def _reasons(
    runtime: CurrentRuntime, answer: ReferralDryRun, effect: Effect
) -> list[dict[str, Any]]:
    """The gate's reasons that have this effect under the policy (why it holds or refuses)."""
    return [dict(r) for r in reasons_with(runtime.policy, answer.reasons, effect)]


def _why_withheld(answer: ReferralDryRun, legal_basis: str) -> dict[str, str]:
    """Each withheld category's reason, from the gate's own reasons: a category the agreement
    leaves out is named by `agreement_not_covering`; any other was not consented to (or, on a
    legal basis, is not one the basis allows)."""
    by_agreement: set[str] = set()
    for reason in answer.reasons:
        if reason["code"] == Reason.agreement_not_covering.value:
            by_agreement.update(reason.get("categories", []))
    otherwise = refer_basis.WITHHELD_BY_BASIS if legal_basis else WITHHELD_BY_CONSENT
    return {
        c: WITHHELD_BY_AGREEMENT if c in by_agreement else otherwise
        for c in answer.withheld_categories
    }


@router.post("/console/cases/{case_id}/refer/check")
def check(
    case_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """Asks the gate (the dry run: its decision and audit entry are kept, nothing else)."""
    person.require(SCOPE)
    case = _case(db, person, case_id)
    choice = Choice(form)
    errors = choice_errors(person, db, runtime, case, choice)
    if errors:
        return _recipient_page(
            request,
            person,
            db,
            runtime,
            case,
            choice.service_type,
            chosen=choice.recipient,
            chosen_service=choice.service_id,
            categories=choice.categories,
            errors=errors,
        )
    basis_errors = refer_basis.form_errors(person, choice)
    if form.get("basis") == "choose" or basis_errors:
        # "Send without consent, on a legal basis": which basis, and why
        return refer_basis.basis_page(
            request, person, db, runtime, case, choice, errors=basis_errors
        )
    return _check_page(request, person, db, runtime, case, choice)


@router.post("/console/cases/{case_id}/refer/send")
def send(
    case_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    case = _case(db, person, case_id)
    choice = Choice(form)
    errors = choice_errors(person, db, runtime, case, choice)
    if errors:
        raise NotFound()  # the check page posts what it was given: only a forged form
    if basis_errors := refer_basis.form_errors(person, choice):
        return refer_basis.basis_page(
            request, person, db, runtime, case, choice, errors=basis_errors
        )
    if choice.urgency not in vocabulary.urgencies(runtime.policy):
        errors.append((f"urgency-{choice.urgency or 'normal'}", person.gettext(CHOOSE_URGENCY)))
    if len(choice.note) > NOTE_MAX:
        errors.append(("note", person.gettext(NOTE_TOO_LONG)))
    if errors:
        return _check_page(request, person, db, runtime, case, choice, errors=errors)
    # the API's idempotency records, under the person's own name: a second post of the same
    # check page is answered with the first one's referral
    once = Idempotency(
        text_field(form, "send_key", max_length=64) or None,
        "POST",
        request.url.path,
        choice.digest(),
    )
    sender = f"user:{person.user.id}"
    if (replay := once.replay(db=db, client_id=sender)) is not None:
        made = json.loads(replay.body)["id"]
        return RedirectResponse(f"/console/referrals/{made}/sent", status_code=303)
    try:
        referral, decision = sending.create(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor=person.actor,
            organization_id=person.principal.organization_id,
            data=choice.request(case, dry_run=False),
        )
    except Problem as problem:
        if refer_basis.refused(problem, choice):
            return refer_basis.basis_page(
                request, person, db, runtime, case, choice, problem=problem
            )
        # the service filled up (or changed its rules) since the check
        if problem.code not in directory_choice.SERVICE_REFUSALS:
            raise
        return directory_choice.override_page(request, person, db, case, choice, problem)
    if referral is not None:
        status = 201 if referral.sent_at is not None else 202
        created = sending.created(referral, decision)
        once.remember(db=db, client_id=sender, status_code=status, body=created)
    if referral is None:
        # refused after all (a consent withdrawn since the check): the attempt is recorded;
        # the page says so, with the gate's answer as it stands now
        return _check_page(
            request, person, db, runtime, case, choice, status_code=422, refused=True
        )
    # after a redirect, reloading the confirmation does not send again
    return RedirectResponse(f"/console/referrals/{referral.id}/sent", status_code=303)


@router.get("/console/cases/{case_id}/refer/check")
@router.get("/console/cases/{case_id}/refer/send")
def posted_page_again(case_id: str, request: Request, person: CurrentPerson) -> Response:
    """The language switch (or a reload) of a page answered to a POST: the choices were in the
    form, so back to the first step, in the language asked for."""
    person.require(SCOPE)
    language = i18n.supported(request.query_params.get("lang"))
    suffix = f"?lang={language}" if language else ""
    return RedirectResponse(f"/console/cases/{case_id}/refer{suffix}", status_code=303)


# -- 4. the confirmation ------------------------------------------------------------------------
@router.get("/console/referrals/{referral_id}/sent")
def sent(referral_id: str, request: Request, person: CurrentPerson, db: DbSession) -> Response:
    person.require(SCOPE)
    organization_id = person.principal.organization_id
    referral = referrals.get(db=db, referral_id=referral_id, organization_id=organization_id)
    if referral.from_organization_id != organization_id:
        raise NotFound("referral")  # the recipient's staff have their own pages
    return page(
        request,
        person,
        "refer_sent.html",
        db=db,
        referral=referral,
        reference=cases.reference(db=db, case_id=referral.case_id),
        recipient_name=organization_names(db, [referral.to_organization_id])[
            referral.to_organization_id
        ],
        held=referral.status == "pending_review",
    )
